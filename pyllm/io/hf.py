"""Hugging Face checkpoints: ``from_pretrained(path)`` reads a model directory, ``save_pretrained(model, path)``
writes one that ``transformers`` reads back.

A directory holds ``config.json`` (the architecture's name in "architectures", its hyperparameters) and the
weights: ``model.safetensors``, or shards listed in ``model.safetensors.index.json``, or ``pytorch_model.bin``
(read by pyllm/io/torch_bin.py, which never runs the pickle's code), or its sharded index. pyllm's parameter
names are Hugging Face's, so each architecture is one entry of ``ARCHITECTURES``, a table rather than code:

    model, config      the pyllm classes ("module:Class", imported when used)
    model_type         config.json's "model_type"
    fields             pyllm config field -> config.json key (a tuple: several keys written with one value,
                       the first read); an absent key means HF's default: ``defaults``' value if listed there,
                       else the pyllm field's default (but for GPT's dropout: HF's is 0.1, pyllm's 0.0, which
                       inference never uses)
    defaults           config.json key -> HF's default, where pyllm's differs (Marian's are not the paper's)
    hf_fixed           config.json key -> the values pyllm's model implements (the first is written; an absent
                       key is HF's default, the first value); any other value raises naming it
    ours_fixed         pyllm config field -> the only value a checkpoint can hold (set on load, checked on save)
    prefix             a prefix by which checkpoint names may differ from pyllm's (GPT2Model saved alone lacks
                       GPT2LMHeadModel's "transformer."): added or removed where the name then fits
    transposed         name suffixes HF stores as (in, out) (GPT-2's Conv1D); transposed both ways
    ignored            regexes of checkpoint names with no pyllm counterpart (HF's old non-persistent buffers)
    read_extra         "module:function": ``f(hf_config, path) -> {pyllm field: value}`` for settings that are
                       not one config.json key each (sentence-transformers' pooling files, BERT's number of
                       labels); it raises CheckpointError for what pyllm's model cannot represent
    write_extra        "module:function": ``f(model, hf_config, path)``, its counterpart on save (may add keys
                       to hf_config, and write the side files read_extra reads)

>>> model = from_pretrained("gpt2-dir")                 # doctest: +SKIP
>>> model.save_pretrained("copy")                       # doctest: +SKIP
"""
import dataclasses
import importlib
import inspect
import json
import os
import pathlib
import re

from .. import _core
from ..nn import init
from ..nn.modules.module import mismatch_message
from .atomic import atomic_write
from .safetensors import SafetensorsFile, save_file
from .torch_bin import load_torch_bin


@dataclasses.dataclass(frozen=True)
class Architecture:
    model: str
    config: str
    model_type: str
    fields: dict
    hf_fixed: dict = dataclasses.field(default_factory=dict)
    ours_fixed: dict = dataclasses.field(default_factory=dict)
    prefix: str = ""
    transposed: tuple = ()
    ignored: tuple = ()
    defaults: dict = dataclasses.field(default_factory=dict)
    read_extra: str = ""
    write_extra: str = ""

    def classes(self):
        """(model class, config class), imported now."""
        return _load(self.model), _load(self.config)


def _load(spec):
    """The object named by "module:name", imported now."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


ARCHITECTURES = {
    "GPT2LMHeadModel": Architecture(
        model="pyllm.models.gpt:GPT", config="pyllm.models.gpt:GPTConfig", model_type="gpt2",
        fields={"block_size": "n_positions", "vocab_size": "vocab_size", "n_layer": "n_layer", "n_head": "n_head",
                "n_embd": "n_embd", "layer_norm_epsilon": "layer_norm_epsilon",
                "dropout": ("resid_pdrop", "embd_pdrop", "attn_pdrop")},
        hf_fixed={"activation_function": ("gelu_new", "gelu_pytorch_tanh"), "n_inner": (None,),
                  "tie_word_embeddings": (True,), "scale_attn_weights": (True,),
                  "scale_attn_by_inverse_layer_idx": (False,), "add_cross_attention": (False,),
                  "reorder_and_upcast_attn": (False, True)},  # upcasting changes nothing in float32
        ours_fixed={"bias": True},
        prefix="transformer.",
        transposed=("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"),
        ignored=(r"\.attn\.bias$", r"\.attn\.masked_bias$"),
    ),
    "LlamaForCausalLM": Architecture(
        model="pyllm.models.llama:Llama", config="pyllm.models.llama:LlamaConfig", model_type="llama",
        fields={name: name for name in (
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
            "tie_word_embeddings", "attention_bias", "mlp_bias", "head_dim", "initializer_range")},
        hf_fixed={"hidden_act": ("silu",)},
        prefix="model.",
        ignored=(r"\.rotary_emb\.inv_freq$",),
    ),
}
# GPT2Model (the base model, saved alone) holds the same weights without the "transformer." prefix and the
# head, which GPT-2 ties to wte; save_pretrained writes the first name, GPT2LMHeadModel.
ARCHITECTURES["GPT2Model"] = ARCHITECTURES["GPT2LMHeadModel"]

# BERT: BertModel's names are the Encoder's; the task models put "bert." before them and add their head.
# sentence-transformers directories (all-MiniLM-L6-v2) are BertModel ones plus files naming the pooling.
ARCHITECTURES["BertModel"] = Architecture(
    model="pyllm.models.encoder:Encoder", config="pyllm.models.encoder:EncoderConfig", model_type="bert",
    fields={name: name for name in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "layer_norm_eps", "pad_token_id", "initializer_range")},
    hf_fixed={"position_embedding_type": ("absolute",), "is_decoder": (False,), "add_cross_attention": (False,)},
    ours_fixed={"add_pooling_layer": True, "num_labels": None},
    prefix="bert.",
    ignored=(r"^(bert\.)?embeddings\.position_ids$",),  # a buffer older transformers saved
    read_extra="pyllm.io.hf:read_sentence_pooling", write_extra="pyllm.io.hf:write_sentence_pooling",
)
# the encoder of a masked LM (no pooler; the prediction head "cls." dropped): mean pooling
ARCHITECTURES["BertForMaskedLM"] = dataclasses.replace(
    ARCHITECTURES["BertModel"], ours_fixed={"add_pooling_layer": False, "pooling": "mean", "num_labels": None},
    ignored=ARCHITECTURES["BertModel"].ignored + (r"^cls\.",))
# pooler, dropout and "classifier": the Encoder's classify(); the labels come from id2label
ARCHITECTURES["BertForSequenceClassification"] = dataclasses.replace(
    ARCHITECTURES["BertModel"], ours_fixed={"add_pooling_layer": True, "pooling": "cls", "normalize": False},
    read_extra="pyllm.io.hf:read_num_labels", write_extra="")

# Marian (opus-mt): the post-LN Transformer with one vocabulary, Marian's sinusoids (sines then cosines), which
# HF computes and no longer saves, and the final_logits_bias buffer, saved.
ARCHITECTURES["MarianMTModel"] = Architecture(
    model="pyllm.models.transformer:Transformer", config="pyllm.models.transformer:TransformerConfig",
    model_type="marian",
    fields={"vocab_size": ("vocab_size", "decoder_vocab_size"), "bos_token_id": "decoder_start_token_id",
            **{name: name for name in (
                "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
                "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings", "dropout", "attention_dropout",
                "activation_dropout", "activation_function", "scale_embedding", "tie_word_embeddings",
                "pad_token_id", "eos_token_id", "forced_eos_token_id")}},
    defaults={"vocab_size": 58101, "d_model": 1024, "encoder_layers": 12, "decoder_layers": 12,
              "encoder_attention_heads": 16, "decoder_attention_heads": 16, "encoder_ffn_dim": 4096,
              "decoder_ffn_dim": 4096, "max_position_embeddings": 1024, "activation_function": "gelu",
              "scale_embedding": False, "pad_token_id": 58100, "decoder_start_token_id": 58100, "eos_token_id": 0,
              "forced_eos_token_id": 0},
    hf_fixed={"share_encoder_decoder_embeddings": (True,)},
    ours_fixed={"decoder_vocab_size": None, "positions": "split", "normalize_before": False, "layer_norm_eps": 1e-5},
    ignored=(r"^model\.(encoder|decoder)\.embed_positions\.weight$",),
    read_extra="pyllm.io.hf:read_marian", write_extra="pyllm.io.hf:write_marian",
)


class CheckpointError(ValueError):
    """A checkpoint that does not fit its config: missing or extra weights, wrong shapes, unsupported settings."""


# ---- reading ----
def from_pretrained(path, dtype=_core.dtype.float32):
    """The pyllm model stored in the Hugging Face model directory ``path``, in eval mode. Floating-point weights
    are converted to ``dtype`` (float32 by default; ``None`` keeps the checkpoint's own, e.g. bfloat16 -- a
    storage type in pyllm, whose ops compute in float32/float64: ``model.float()`` before running it)."""
    path = pathlib.Path(path)
    hf_config = read_config(path)
    name, arch = architecture_of(hf_config, path / "config.json")
    weights = _open_weights(path)
    with init.no_init_weights():  # every weight is about to be overwritten by the checkpoint's
        model = build_model(arch, hf_config, path / "config.json")
    state = _map_weights(arch, name, model, weights, path)
    if dtype is None:
        floats = [t.dtype for t in state.values() if t.dtype.is_floating_point]
        dtype = floats[0] if floats else _core.dtype.float32
    state = {k: (t.to(dtype) if t.dtype.is_floating_point and t.dtype != dtype else t) for k, t in state.items()}
    # The tensors become the weights, without a copy: those read from safetensors stay memory-mapped
    # copy-on-write (pages load as used; training writes private copies, never the file). Buffers computed
    # from the config (RoPE's frequencies) stay float32, as in transformers.
    model.load_state_dict(state, assign=True)
    return model.eval()


def read_config(path):
    """config.json of the model directory ``path`` as a dict."""
    file = pathlib.Path(path) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no config.json (not a Hugging Face model directory)")
    return _read_json(file, dict)


def _read_json(file, kind):
    """The JSON document in ``file``, which must be a ``kind`` (dict or list)."""
    try:
        doc = json.loads(file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{file}: not valid JSON (truncated or corrupt: {e})") from None
    if not isinstance(doc, kind):
        raise ValueError(f"{file}: holds a JSON {type(doc).__name__}, not {'an object' if kind is dict else 'a list'}")
    return doc


def architecture_of(hf_config, where):
    """(name, Architecture) for config.json's "architectures" entry."""
    names = hf_config.get("architectures")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"{where}: no \"architectures\" list naming the model class; supported: "
                              f"{', '.join(ARCHITECTURES)}")
    for name in names:
        if name in ARCHITECTURES:
            return name, ARCHITECTURES[name]
    raise CheckpointError(f"{where}: architecture {', '.join(names)} is not supported; supported: "
                          f"{', '.join(ARCHITECTURES)}")


def build_model(arch, hf_config, where):
    """A pyllm model with the architecture's config read from ``hf_config`` (weights not loaded)."""
    model_cls, config_cls = arch.classes()
    for key, allowed in arch.hf_fixed.items():
        value = hf_config.get(key, allowed[0])
        if value not in allowed:
            raise CheckpointError(f"{where}: {key}={value!r} is not supported by pyllm's {model_cls.__name__} "
                                  f"(supported: {', '.join(repr(v) for v in allowed)})")
    kwargs = dict(arch.ours_fixed)
    for field, keys in arch.fields.items():
        key = keys[0] if isinstance(keys, tuple) else keys
        if key in hf_config:
            kwargs[field] = hf_config[key]
        elif key in arch.defaults:
            kwargs[field] = arch.defaults[key]
    if arch.read_extra:
        kwargs.update(_load(arch.read_extra)(hf_config, pathlib.Path(where).parent))
    try:
        config = config_cls(**kwargs)
        accepts_verbose = "verbose" in inspect.signature(model_cls).parameters
        return model_cls(config, verbose=False) if accepts_verbose else model_cls(config)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{where}: {e}") from None


def _open_weights(path):
    """{checkpoint name: function returning the tensor} over the directory's weight file(s)."""
    for file, index in (("model.safetensors", "model.safetensors.index.json"),
                        ("pytorch_model.bin", "pytorch_model.bin.index.json")):
        if (path / file).is_file():
            return _file_weights(path / file)
        if (path / index).is_file():
            return _sharded_weights(path, index)
    raise FileNotFoundError(f"{path}: no weights: looked for model.safetensors, model.safetensors.index.json, "
                            "pytorch_model.bin and pytorch_model.bin.index.json")


def _file_weights(file):
    if file.name.endswith(".safetensors"):
        f = SafetensorsFile(file)
        return {name: (lambda name=name: f.get(name)) for name in f.keys()}
    state = load_torch_bin(file)
    return {name: (lambda t=t: t) for name, t in state.items()}


def _sharded_weights(path, index):
    """The shards listed in the index's "weight_map" ({name: shard file}); each must hold exactly its names."""
    try:
        weight_map = json.loads((path / index).read_bytes().decode("utf-8"))["weight_map"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path / index}: not a valid shard index (needs a \"weight_map\" object: "
                         f"{type(e).__name__}: {e})") from None
    if not (isinstance(weight_map, dict) and all(isinstance(v, str) for v in weight_map.values())):
        raise ValueError(f"{path / index}: \"weight_map\" must map weight names to shard file names")
    weights = {}
    for shard in sorted(set(weight_map.values())):
        if "/" in shard or "\\" in shard or shard in ("", ".", ".."):
            raise ValueError(f"{path / index}: shard name {shard!r} is not a file name in the directory")
        if not (path / shard).is_file():
            raise FileNotFoundError(f"{path / index}: lists shard {shard}, which is not in {path} (an incomplete "
                                    "download?)")
        held = _file_weights(path / shard)
        listed = {name for name, s in weight_map.items() if s == shard}
        if set(held) != listed:
            raise ValueError(f"{path / shard}: holds different weights than {index} lists for it: missing "
                             f"{sorted(listed - set(held))}, not listed {sorted(set(held) - listed)}")
        weights.update(held)
    return weights


def _aliases(model):
    """{name: first name} for each parameter reachable under more than one name (tied weights)."""
    first, aliases = {}, {}

    def walk(module, prefix):  # every path, also through a module shared by two parents (Marian's embedding)
        for name, p in module._parameters.items():
            if p is None:
                continue
            if id(p) in first:
                aliases[prefix + name] = first[id(p)]
            else:
                first[id(p)] = prefix + name
        for name, child in module.named_children():
            walk(child, f"{prefix}{name}.")

    walk(model, "")
    return aliases


def _map_weights(arch, arch_name, model, weights, path):
    """{pyllm name: tensor in pyllm's layout} from the checkpoint's weights, checking names and shapes."""
    own = model.state_dict()
    aliases = _aliases(model)
    by_ours = {}  # pyllm name -> checkpoint name
    unexpected = []
    for name in weights:
        if any(re.search(p, name) for p in arch.ignored):
            continue
        ours = name
        if arch.prefix and ours not in own:
            if arch.prefix + ours in own:
                ours = arch.prefix + ours
            elif ours.startswith(arch.prefix) and ours[len(arch.prefix):] in own:
                ours = ours[len(arch.prefix):]
        if ours in own or ours in aliases:  # a module shared under several names: state_dict() lists one
            by_ours[ours] = name
        else:
            unexpected.append(name)
    for alias, primary in aliases.items():  # a tied weight: the first name's tensor wins, as in HF
        if alias in by_ours and primary not in by_ours:
            by_ours[primary] = by_ours[alias]
        by_ours.pop(alias, None)
    missing = [name for name in own if name not in by_ours and name not in aliases]
    if missing or unexpected:
        raise CheckpointError(mismatch_message(f"{path}: the weights do not fit {arch_name} as config.json "
                                               "describes it:", missing, unexpected, noun="weights"))
    state = {}
    for ours, name in by_ours.items():
        tensor = weights[name]()
        flip = ours.endswith(arch.transposed) if arch.transposed else False
        expected = tuple(own[ours].shape)[::-1] if flip else tuple(own[ours].shape)
        if tuple(tensor.shape) != expected:
            raise CheckpointError(f"{path}: weight {name!r} has shape {tuple(tensor.shape)} in the checkpoint but "
                                  f"{arch_name} with this config.json needs {expected}")
        state[ours] = tensor.t().contiguous() if flip else tensor
    for alias, primary in aliases.items():
        if alias in own:
            state[alias] = state[primary]
    return state


# ---- writing ----
def save_pretrained(model, path):
    """Writes ``model`` to the directory ``path`` as Hugging Face does: config.json (HF's field names,
    "architectures", "model_type") and model.safetensors (tied weights once, under their first name), each
    file atomically."""
    name, arch = _architecture_for(model)
    path = pathlib.Path(path)
    config = model.config
    for field, value in arch.ours_fixed.items():
        if getattr(config, field) != value:
            raise ValueError(f"save_pretrained: {type(model).__name__} with {field}={getattr(config, field)!r} "
                             f"has no {name} equivalent (it needs {field}={value!r})")
    hf_config = {"architectures": [name], "model_type": arch.model_type}
    hf_config.update({key: allowed[0] for key, allowed in arch.hf_fixed.items()})
    for field, keys in arch.fields.items():
        for key in keys if isinstance(keys, tuple) else (keys,):
            hf_config[key] = getattr(config, field)
    floats = [p.dtype for p in model.parameters() if p.dtype.is_floating_point]
    hf_config["torch_dtype"] = (floats[0] if floats else _core.dtype.float32).name
    aliases = _aliases(model)
    tensors = {}
    for ours, tensor in model.state_dict().items():
        if ours in aliases:
            continue
        flip = arch.transposed and ours.endswith(arch.transposed)
        tensors[ours] = tensor.t().contiguous() if flip else tensor
    os.makedirs(path, exist_ok=True)
    if arch.write_extra:
        _load(arch.write_extra)(model, hf_config, path)
    save_file(tensors, path / "model.safetensors", metadata={"format": "pt"})
    with atomic_write(path / "config.json", "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2, sort_keys=True)
        f.write("\n")


def _architecture_for(model):
    for name, arch in ARCHITECTURES.items():
        module, cls = arch.model.split(":")
        if type(model).__module__ == module and type(model).__name__ == cls:
            return name, arch
    raise TypeError(f"save_pretrained: no Hugging Face architecture for {type(model).__name__}; supported: "
                    f"{', '.join(a.model.split(':')[1] for a in ARCHITECTURES.values())}")


# ---- settings beyond config.json's keys (the table's read_extra / write_extra) ----
SENTENCE_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                          "pooling_mode_mean_sqrt_len_tokens")


def read_sentence_pooling(hf_config, path):
    """sentence-transformers' pipeline, if ``path`` has one: modules.json lists the Transformer (this BERT), a
    Pooling module (its options in e.g. 1_Pooling/config.json) and maybe Normalize. Mean pooling, then
    optionally L2 normalisation, is the Encoder's ``pooling="mean"``, ``normalize``; without modules.json, {}
    (BERT's own pooler)."""
    file = path / "modules.json"
    if not file.is_file():
        return {}
    modules = _read_json(file, list)
    kinds = {}
    for module in modules:
        kind = module.get("type", "") if isinstance(module, dict) else ""
        kind = kind.rsplit(".", 1)[-1]
        if kind not in ("Transformer", "Pooling", "Normalize"):
            raise CheckpointError(f"{file}: sentence-transformers module {module!r} is not supported by pyllm's "
                                  "Encoder (Transformer, Pooling with mean pooling, and Normalize are)")
        kinds[kind] = module
    extra = {"normalize": "Normalize" in kinds}
    if "Pooling" in kinds:
        pooling_file = path / str(kinds["Pooling"].get("path", "")) / "config.json"
        if not pooling_file.is_file():
            raise FileNotFoundError(f"{file} lists a Pooling module whose {pooling_file} is missing")
        options = _read_json(pooling_file, dict)
        modes = [mode for mode in SENTENCE_POOLING_MODES if options.get(mode)]
        if modes != ["pooling_mode_mean_tokens"]:
            raise CheckpointError(f"{pooling_file}: pooling {' + '.join(modes) or 'none'} is not supported by "
                                  "pyllm's Encoder (pooling_mode_mean_tokens alone is)")
        extra["pooling"] = "mean"
    return extra


def write_sentence_pooling(model, hf_config, path):
    """An Encoder with mean pooling is written as sentence-transformers lays it out (modules.json,
    1_Pooling/config.json), so that from_pretrained -- and sentence-transformers -- pool it the same way."""
    config = model.config
    if config.pooling != "mean":
        return
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if config.normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    options = {mode: mode == "pooling_mode_mean_tokens" for mode in SENTENCE_POOLING_MODES}
    os.makedirs(path / "1_Pooling", exist_ok=True)
    for file, doc in ((path / "1_Pooling" / "config.json", {"word_embedding_dimension": config.hidden_size, **options}),
                      (path / "modules.json", modules)):
        with atomic_write(file, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


def read_num_labels(hf_config, path):
    """BertForSequenceClassification's number of classes: one per id2label entry (HF's default: 2)."""
    labels = hf_config.get("id2label")
    return {"num_labels": len(labels) if isinstance(labels, dict) else hf_config.get("num_labels", 2)}


MARIAN_GENERATION = {"decoder_start_token_id": "bos_token_id", "eos_token_id": "eos_token_id",
                     "forced_eos_token_id": "forced_eos_token_id", "pad_token_id": "pad_token_id"}


def read_marian(hf_config, path):
    """Marian's decoder_vocab_size must be vocab_size (pyllm's Transformer shares one embedding matrix); the
    token ids that generation uses come from generation_config.json where it has them, as in transformers
    (whose save_pretrained keeps e.g. a non-default forced_eos_token_id there only), and so do opus-mt's
    one-token bad_words_ids (suppress_token_ids) and renormalize_logits."""
    vocab, decoder_vocab = hf_config.get("vocab_size"), hf_config.get("decoder_vocab_size")
    if decoder_vocab is not None and decoder_vocab != vocab:
        raise CheckpointError(f"{path / 'config.json'}: decoder_vocab_size={decoder_vocab} differs from "
                              f"vocab_size={vocab}; pyllm's Transformer loads Marian models with one shared "
                              "vocabulary only")
    file = path / "generation_config.json"
    generation = _read_json(file, dict) if file.is_file() else {}
    extra = {}
    for key, field in MARIAN_GENERATION.items():
        if key in generation:
            value = generation[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise CheckpointError(f"{file}: {key}={value!r} is not supported by pyllm's Transformer (one "
                                      "token id is)")
            if value is not None or field == "forced_eos_token_id":
                extra[field] = value
    source = generation if file.is_file() else hf_config   # transformers reads one or the other
    bad = source.get("bad_words_ids") or []
    if not (isinstance(bad, list) and all(isinstance(w, list) and len(w) == 1 and isinstance(w[0], int)
                                          for w in bad)):
        raise CheckpointError(f"{file if file.is_file() else path / 'config.json'}: bad_words_ids={bad!r} is not "
                              "supported by pyllm's Transformer (one-token bad words are)")
    extra["suppress_token_ids"] = tuple(w[0] for w in bad)
    extra["renormalize_logits"] = bool(source.get("renormalize_logits", False))
    return extra


def write_marian(model, hf_config, path):
    """generation_config.json with the model's generation settings, as transformers writes it."""
    config = model.config
    doc = {key: getattr(config, field) for key, field in MARIAN_GENERATION.items()}
    doc["bad_words_ids"] = [[t] for t in config.suppress_token_ids] or None
    doc["renormalize_logits"] = config.renormalize_logits
    with atomic_write(path / "generation_config.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")

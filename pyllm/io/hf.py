"""Hugging Face checkpoints: ``from_pretrained(path)`` reads a model directory, ``save_pretrained(model, path)``
writes one that ``transformers`` reads back.

A directory holds ``config.json`` (the architecture's name in "architectures", its hyperparameters) and the
weights: ``model.safetensors``, or shards listed in ``model.safetensors.index.json``, or ``pytorch_model.bin``
(read by pyllm/io/torch_bin.py, which never runs the pickle's code), or its sharded index. pyllm's parameter
names are Hugging Face's, so each architecture is one entry of ``ARCHITECTURES``, a table rather than code:

    model, config      the pyllm classes ("module:Class", imported when used)
    model_type         config.json's "model_type"
    fields             pyllm config field -> config.json key (a tuple: several keys written with one value,
                       the first read); an absent key means the pyllm field's default, which is HF's (but
                       for GPT's dropout: HF's is 0.1, pyllm's 0.0, which inference never uses)
    hf_fixed           config.json key -> the values pyllm's model implements (the first is written; an absent
                       key is HF's default, the first value); any other value raises naming it
    ours_fixed         pyllm config field -> the only value a checkpoint can hold (set on load, checked on save)
    prefix             a prefix by which checkpoint names may differ from pyllm's (GPT2Model saved alone lacks
                       GPT2LMHeadModel's "transformer."): added or removed where the name then fits
    transposed         name suffixes HF stores as (in, out) (GPT-2's Conv1D); transposed both ways
    ignored            regexes of checkpoint names with no pyllm counterpart (HF's old non-persistent buffers)

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

    def classes(self):
        """(model class, config class), imported now."""
        def load(spec):
            module, name = spec.split(":")
            return getattr(importlib.import_module(module), name)
        return load(self.model), load(self.config)


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
    try:
        config = json.loads(file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{file}: not valid JSON (truncated or corrupt: {e})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{file}: holds a JSON {type(config).__name__}, not an object")
    return config


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
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            aliases[name] = first[id(p)]
        else:
            first[id(p)] = name
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
        if ours in own:
            by_ours[ours] = name
        else:
            unexpected.append(name)
    for alias, primary in aliases.items():  # a tied weight: the first name's tensor wins, as in HF
        if alias in by_ours and primary not in by_ours:
            by_ours[primary] = by_ours[alias]
        by_ours.pop(alias, None)
    missing = [name for name in own if name not in by_ours and name not in aliases]
    if missing or unexpected:
        lines = [f"{path}: the weights do not fit {arch_name} as config.json describes it:"]
        if missing:
            lines.append(f"  missing weights ({len(missing)}): {', '.join(missing)}")
        if unexpected:
            lines.append(f"  unexpected weights ({len(unexpected)}): {', '.join(unexpected)}")
        raise CheckpointError("\n".join(lines))
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

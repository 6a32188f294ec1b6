"""GGUF reading and dequantization, against files written and quantized by the ``gguf`` package (llama.cpp's
own Python writer and its NumPy port of ggml's block formats), and on truncated or corrupt files."""
import struct

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the gguf package (pip install gguf) writes the reference files")
from gguf import GGMLQuantizationType as Q  # noqa: E402
from gguf import GGUFValueType as V  # noqa: E402

import pyllm  # noqa: E402
from pyllm.io.gguf import GGUFError, GGUFFile, dequantize, load_model  # noqa: E402
from pyllm.tokenizers.formats import bytes_to_unicode  # noqa: E402

QUANTIZED = ["Q8_0", "Q4_0", "Q4_1", "BF16", "F16"]


def write_gguf(path, tensors, metadata=(), alignment=None):
    """A GGUF file written by the gguf package: tensors {name: (float32 array, type name)}, metadata
    [(key, value, value type, item type)]. Returns {name: what the package's own dequantize gives}."""
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, value, vtype, sub in metadata:
        w.add_key_value(key, value, vtype, sub_type=sub)
    expected = {}
    for name, (array, kind) in tensors.items():
        if kind == "F32":
            w.add_tensor(name, array)
            expected[name] = array
        else:
            data = gguf.quants.quantize(array, Q[kind])
            w.add_tensor(name, data, raw_dtype=Q[kind])  # its shape: bytes per row
            expected[name] = gguf.quants.dequantize(data, Q[kind]).astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


@pytest.mark.parametrize("kind", QUANTIZED)
def test_dequantize_matches_gguf_package(kind, rng):
    shape = (int(rng.integers(1, 6)), 32 * int(rng.integers(1, 5)))
    x = (rng.standard_normal(shape) * rng.uniform(0.1, 5)).astype(np.float32)
    x[0, :32] += rng.uniform(-3, 3)  # a block with an offset: Q4_1's min must carry it
    data = gguf.quants.quantize(x, Q[kind])
    ours = dequantize(data.view(np.uint8), kind, shape)
    reference = gguf.quants.dequantize(data, Q[kind]).astype(np.float32)
    assert ours.dtype == np.float32 and ours.shape == shape
    np.testing.assert_array_equal(ours, reference)
    # and it is a faithful quantization of x (a wrong nibble order or scale would be far off)
    step = {"Q8_0": 1 / 127, "Q4_0": 1 / 7, "Q4_1": 1 / 15, "BF16": 2 ** -8, "F16": 2 ** -11}[kind]
    scale = np.abs(x).reshape(shape[0], -1, 32).max(axis=-1, keepdims=True)
    err = np.abs(ours - x).reshape(shape[0], -1, 32)
    assert (err <= scale * step * 1.01 + 1e-6).all()


def test_q4_block_layout_by_hand(rng):
    """One Q4_0 and one Q4_1 block built byte by byte: weight j in byte j's low nibble, j+16 in its high one."""
    q = rng.integers(0, 16, size=32)
    packed = (q[:16] | (q[16:] << 4)).astype(np.uint8)
    d, m = np.float16(rng.uniform(0.1, 2)), np.float16(rng.uniform(-2, 2))
    q4_0 = np.concatenate([np.array([d]).view(np.uint8), packed])
    q4_1 = np.concatenate([np.array([d, m]).view(np.uint8), packed])
    np.testing.assert_allclose(dequantize(q4_0, "Q4_0", (32,)), np.float32(d) * (q - 8), rtol=1e-6)
    np.testing.assert_allclose(dequantize(q4_1, "Q4_1", (32,)), np.float32(d) * q + np.float32(m), rtol=1e-6)
    q8 = rng.integers(-128, 128, size=32).astype(np.int8)
    q8_0 = np.concatenate([np.array([d]).view(np.uint8), q8.view(np.uint8)])
    np.testing.assert_allclose(dequantize(q8_0, "Q8_0", (32,)), np.float32(d) * q8, rtol=1e-6)


def test_file_metadata_and_tensors(tmp_path, rng):
    tensors = {f"t.{kind}": (rng.standard_normal((3, 64)).astype(np.float32), kind) for kind in QUANTIZED}
    tensors["t.F32"] = (rng.standard_normal((2, 3, 5)).astype(np.float32), "F32")
    metadata = [
        ("u8", 200, V.UINT8, None), ("i8", -100, V.INT8, None), ("u16", 60000, V.UINT16, None),
        ("i16", -30000, V.INT16, None), ("u32", 4_000_000_000, V.UINT32, None), ("i32", -2_000_000_000, V.INT32, None),
        ("u64", 2 ** 63 + 5, V.UINT64, None), ("i64", -2 ** 62, V.INT64, None), ("f32", 0.5, V.FLOAT32, None),
        ("f64", 1 / 3, V.FLOAT64, None), ("yes", True, V.BOOL, None), ("s", "héllo ✓", V.STRING, None),
        ("ints", [1, -2, 3], V.ARRAY, V.INT32), ("floats", [0.25, -1.5], V.ARRAY, V.FLOAT32),
        ("strings", ["a", "", "ü b"], V.ARRAY, V.STRING)
    ]
    path = tmp_path / "m.gguf"
    expected = write_gguf(path, tensors, metadata, alignment=64)
    f = GGUFFile(path)
    assert f.version == 3 and f.alignment == 64 and f.keys() == list(tensors)
    for key, value, _, _ in metadata:
        assert f.metadata[key] == value, key
    assert f.metadata["general.architecture"] == "llama"
    for name, (array, kind) in tensors.items():
        assert f.tensors[name].shape == array.shape and f.tensors[name].ggml_type == kind
        got = f.get(name)
        assert isinstance(got, pyllm.Tensor) and got.dtype == pyllm.float32
        np.testing.assert_array_equal(got.numpy(), expected[name])


def _one_tensor_file(tmp_path, rng, kind="Q4_1"):
    path = tmp_path / "one.gguf"
    write_gguf(path, {"blk.0.w": (rng.standard_normal((2, 32)).astype(np.float32), kind)},
               [("k", "v", V.STRING, None)])
    return path, bytearray(path.read_bytes())


def test_bad_magic_and_versions(tmp_path, rng):
    path, data = _one_tensor_file(tmp_path, rng)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGML" + data[4:])
    with pytest.raises(GGUFError, match="not a GGUF file"):
        GGUFFile(bad)
    for version, hint in [(1, "version 1 is not supported"), (4, "version 4 is not supported"),
                          (3 << 24, "big-endian")]:
        bad.write_bytes(data[:4] + struct.pack("<I", version) + data[8:])
        with pytest.raises(GGUFError, match=hint):
            GGUFFile(bad)
    bad.write_bytes(b"GG")
    with pytest.raises(GGUFError, match="truncated"):
        GGUFFile(bad)


def test_truncated_files(tmp_path, rng):
    path, data = _one_tensor_file(tmp_path, rng)
    stored = bytes(GGUFFile(path).raw("blk.0.w"))
    data_end = bytes(data).rindex(stored) + len(stored)  # the writer pads the file after it
    bad = tmp_path / "cut.gguf"
    in_metadata = bytes(data).index(b"general.architecture") + 5
    in_table = bytes(data).index(b"blk.0.w") + 3
    for cut, message in [(12, "truncated: the tensor count"), (in_metadata, "truncated: metadata key 0"),
                         (in_table, "truncated: the name of tensor 0"), (data_end - 1, "run past the end of the file")]:
        bad.write_bytes(bytes(data[:cut]))
        with pytest.raises(GGUFError, match=message):
            GGUFFile(bad)


def _tensor_info_at(data, name):
    """Byte offset of the ggml type field of tensor ``name`` in the tensor table (rank 2)."""
    at = bytes(data).index(name.encode()) + len(name)
    return at + 4 + 2 * 8


def test_corrupt_tensor_table(tmp_path, rng):
    path, data = _one_tensor_file(tmp_path, rng)
    type_at = _tensor_info_at(data, "blk.0.w")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data[:type_at]) + struct.pack("<I", 99) + bytes(data[type_at + 4:]))
    with pytest.raises(GGUFError, match="tensor 'blk.0.w' has unknown ggml type 99"):
        GGUFFile(bad)
    # an offset far past the end
    bad.write_bytes(bytes(data[:type_at + 4]) + struct.pack("<Q", 1 << 40) + bytes(data[type_at + 12:]))
    with pytest.raises(GGUFError, match="'blk.0.w'.*run past the end"):
        GGUFFile(bad)
    # an offset that is not a multiple of the alignment
    bad.write_bytes(bytes(data[:type_at + 4]) + struct.pack("<Q", 8) + bytes(data[type_at + 12:]))
    with pytest.raises(GGUFError, match="not a multiple of the alignment 32"):
        GGUFFile(bad)
    # a metadata value type that does not exist
    key_at = bytes(data).index(b"\x01\x00\x00\x00\x00\x00\x00\x00k") + 9
    bad.write_bytes(bytes(data[:key_at]) + struct.pack("<I", 13) + bytes(data[key_at + 4:]))
    with pytest.raises(GGUFError, match="metadata 'k' has unknown value type 13"):
        GGUFFile(bad)


def test_type_pyllm_cannot_dequantize(tmp_path, rng):
    """A known ggml type outside pyllm's set: the file opens (its layout checks out), get() names the tensor."""
    path = tmp_path / "k.gguf"
    x = rng.standard_normal((2, 256)).astype(np.float32)
    write_gguf(path, {"blk.0.ffn_down.weight": (x, "Q5_0"), "ok": (x, "F32")})
    f = GGUFFile(path)
    np.testing.assert_array_equal(f.get("ok").numpy(), x)
    with pytest.raises(GGUFError, match="'blk.0.ffn_down.weight' has ggml type Q5_0, which pyllm cannot dequantize"):
        f.get("blk.0.ffn_down.weight")
    with pytest.raises(KeyError, match="no tensor named 'nope'"):
        f.get("nope")


# ---- a small random Llama written as llama.cpp's converter writes it ----
def llama_cpp_permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rows from (halves) to (interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_llama_gguf(path, hf_model, kinds=("F32",), extra_metadata=()):
    c = hf_model.config
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in hf_model.state_dict().items()}
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    parts = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for i in range(c.num_hidden_layers):
        for hf, gg in parts.items():
            names[f"model.layers.{i}.{hf}.weight"] = f"blk.{i}.{gg}.weight"
    tensors = {}
    for k, w in sd.items():
        if k == "lm_head.weight" and c.tie_word_embeddings:
            continue
        if k.endswith("q_proj.weight"):
            w = llama_cpp_permute(w, c.num_attention_heads)
        elif k.endswith("k_proj.weight"):
            w = llama_cpp_permute(w, c.num_key_value_heads)
        tensors[names[k]] = (w, kinds[len(tensors) % len(kinds)] if w.ndim == 2 else "F32")
    alphabet = bytes_to_unicode()
    token_strings = [alphabet[b] for b in range(256)] + ["ab", "<s>"]
    metadata = [
        ("llama.block_count", c.num_hidden_layers, V.UINT32, None),
        ("llama.context_length", c.max_position_embeddings, V.UINT32, None),
        ("llama.embedding_length", c.hidden_size, V.UINT32, None),
        ("llama.feed_forward_length", c.intermediate_size, V.UINT32, None),
        ("llama.attention.head_count", c.num_attention_heads, V.UINT32, None),
        ("llama.attention.head_count_kv", c.num_key_value_heads, V.UINT32, None),
        ("llama.rope.freq_base", c.rope_theta, V.FLOAT32, None),
        ("llama.attention.layer_norm_rms_epsilon", c.rms_norm_eps, V.FLOAT32, None),
        ("tokenizer.ggml.model", "gpt2", V.STRING, None),
        ("tokenizer.ggml.pre", "gpt2", V.STRING, None),
        ("tokenizer.ggml.tokens", token_strings, V.ARRAY, V.STRING),
        ("tokenizer.ggml.token_type", [1] * 257 + [3], V.ARRAY, V.INT32),
        ("tokenizer.ggml.merges", ["a b"], V.ARRAY, V.STRING),
        *extra_metadata,
    ]
    write_gguf(path, tensors, metadata)


@pytest.fixture(scope="module")
def small_llama():
    transformers = pytest.importorskip("transformers")
    import torch
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=258, hidden_size=72, intermediate_size=100, num_hidden_layers=2,
                                      num_attention_heads=3, num_key_value_heads=1, rope_theta=5000.0,
                                      rms_norm_eps=1e-5, max_position_embeddings=64, tie_word_embeddings=False)
    return transformers.LlamaForCausalLM(config).eval()


def test_small_llama_logits_match_transformers(tmp_path, small_llama, rng):
    """Odd sizes (d=72, 3 heads of 24, 1 KV head, vocab 258), an untied head, q/k permuted as llama.cpp does."""
    import torch

    path = tmp_path / "small.gguf"
    write_llama_gguf(path, small_llama)
    ids = rng.integers(0, 258, size=(1, 11))
    model, tok = load_model(path)
    assert not model.config.tie_word_embeddings and model.config.num_key_value_heads == 1
    with pyllm.no_grad():
        logits = model(pyllm.tensor(ids))[0].numpy()
    with torch.no_grad():
        expected = small_llama(torch.from_numpy(ids)).logits.numpy()
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)
    assert tok.encode("abc<s>", allowed_special="all") == [256, ord("c"), 257]
    # The generic entry points take a .gguf file as they take a Hugging Face directory.
    with pyllm.no_grad():
        np.testing.assert_array_equal(pyllm.from_pretrained(path)(pyllm.tensor(ids))[0].numpy(), logits)
    assert pyllm.tokenizers.from_pretrained(path).encode("abc<s>", allowed_special="all") == [256, ord("c"), 257]


def test_llama_metadata_errors(tmp_path, small_llama):
    path = tmp_path / "bad.gguf"
    write_llama_gguf(path, small_llama, extra_metadata=[("llama.rope.scaling.type", "yarn", V.STRING, None)])
    with pytest.raises(GGUFError, match="RoPE scaling 'yarn'"):
        load_model(path)
    write_llama_gguf(path, small_llama, extra_metadata=[("llama.rope.dimension_count", 16, V.UINT32, None)])
    with pytest.raises(GGUFError, match="llama.rope.dimension_count is 16"):
        load_model(path)
    x = np.ones((4, 32), np.float32)
    write_gguf(path, {"w": (x, "F32")})
    with pytest.raises(GGUFError, match="the metadata has no llama.vocab_size"):
        load_model(path)

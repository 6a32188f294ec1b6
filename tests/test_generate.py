"""Generation: greedy tokens identical to Hugging Face's generate(do_sample=False) on the same small random
GPT-2 and Llama; KV-cache generation identical to no-cache generation (greedy and seeded sampling); each
logits processor against HF's processor class on random logits; eos, streaming, the context window, and
argument errors."""
import numpy as np
import pytest
import torch
from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

import pyllm
from pyllm.generate import apply_repetition_penalty, top_k_filter, top_p_filter
from pyllm.models import GPT, GPTConfig
from hf_pairs import make_gpt_pair, make_llama_pair
from util import assert_same_greedy_tokens


@pytest.mark.parametrize("arch", ["gpt", "llama"])
def test_greedy_matches_hugging_face_generate(rng, arch):
    hf, ours = make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng)
    ids = rng.integers(0, 1001, (2, 5))
    expected = hf.generate(torch.from_numpy(ids), max_new_tokens=12, do_sample=False, repetition_penalty=1.3,
                           attention_mask=torch.ones(2, 5, dtype=torch.long), pad_token_id=0,
                           eos_token_id=None, bos_token_id=None)
    got = ours.generate(pyllm.tensor(ids), max_new_tokens=12, do_sample=False, repetition_penalty=1.3)

    def hf_scores(prefix):  # HF's next-token scores after its repetition penalty
        with torch.no_grad():
            x = torch.from_numpy(prefix[None])
            return RepetitionPenaltyLogitsProcessor(1.3)(x, hf(x).logits[:, -1])[0].numpy()
    assert_same_greedy_tokens(got.numpy(), expected.numpy(), hf_scores)


@pytest.mark.parametrize("arch", ["gpt", "llama"])
@pytest.mark.parametrize("sampling", [dict(do_sample=False),
                                      dict(temperature=0.8, top_k=50, top_p=0.9, repetition_penalty=1.2)])
def test_kv_cache_generation_equals_no_cache_generation(rng, arch, sampling):
    _, ours = make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng)
    ids = pyllm.tensor(rng.integers(0, 1001, (2, 4)))
    seed = int(rng.integers(1 << 31))
    with_cache = ours.generate(ids, 14, seed=seed, use_cache=True, **sampling).numpy()
    without = ours.generate(ids, 14, seed=seed, use_cache=False, **sampling).numpy()
    np.testing.assert_array_equal(with_cache, without)
    if sampling.get("do_sample", True):  # a seeded draw is reproducible, and the seed matters
        np.testing.assert_array_equal(ours.generate(ids, 14, seed=seed, **sampling).numpy(), with_cache)
        assert any((ours.generate(ids, 14, seed=seed + s, **sampling).numpy() != with_cache).any()
                   for s in (1, 2, 3))


def test_sliding_window_past_block_size_is_the_same_with_and_without_cache(rng):
    _, ours = make_gpt_pair(rng, block_size=8)
    ids = pyllm.tensor(rng.integers(0, 1001, (1, 6)))
    a = ours.generate(ids, 10, do_sample=False, use_cache=True).numpy()
    b = ours.generate(ids, 10, do_sample=False, use_cache=False).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 16)
    with pyllm.no_grad():  # the last token was chosen from the logits of the last 8 tokens (nanoGPT's crop)
        logits, _ = ours(pyllm.tensor(a[:, -9:-1]))
    assert logits[0, -1].numpy().argmax() == a[0, -1]


def test_sampling_follows_the_distribution(rng):
    """With a one-layer model and a fixed context, the empirical frequencies of the first sampled token
    match softmax(logits / temperature) restricted to the top-k."""
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    model = GPT(GPTConfig(block_size=8, vocab_size=6, n_layer=1, n_head=1, n_embd=4), verbose=False)
    with pyllm.no_grad():
        model.transformer.wte.weight.copy_(pyllm.tensor(rng.standard_normal((6, 4)).astype(np.float32)))
        logits = model(pyllm.tensor([[1, 2]]))[0][0, -1].numpy().astype(np.float64)
    keep = np.argsort(logits)[-4:]
    p = np.zeros(6)
    p[keep] = np.exp(logits[keep] / 0.7)
    p /= p.sum()
    ids = pyllm.tensor([[1, 2]] * 4000)
    first = model.generate(ids, 1, temperature=0.7, top_k=4, seed=int(rng.integers(1 << 31))).numpy()[:, -1]
    freq = np.bincount(first, minlength=6) / len(first)
    np.testing.assert_allclose(freq, p, atol=0.03)


# ---- each logits processor vs HF's class ----

def _random_scores(rng, B=4, V=300):
    return rng.standard_normal((B, V)).astype(np.float32) * 3


@pytest.mark.parametrize("penalty", [0.7, 1.5])
def test_repetition_penalty_matches_hugging_face(rng, penalty):
    scores = _random_scores(rng)
    ids = rng.integers(0, 300, (4, 40))
    expected = RepetitionPenaltyLogitsProcessor(penalty)(torch.from_numpy(ids), torch.from_numpy(scores.copy()))
    np.testing.assert_array_equal(apply_repetition_penalty(scores, ids, penalty), expected.numpy())


@pytest.mark.parametrize("k", [1, 7, 300, 1000])
def test_top_k_matches_hugging_face(rng, k):
    scores = _random_scores(rng)
    scores[0, :10] = scores[0, 10]  # ties at the boundary are kept, as HF keeps them
    expected = TopKLogitsWarper(k)(None, torch.from_numpy(scores.copy()))
    np.testing.assert_array_equal(top_k_filter(scores, k), expected.numpy())


@pytest.mark.parametrize("p", [0.05, 0.5, 0.9, 0.999, 1.0])
def test_top_p_matches_hugging_face(rng, p):
    scores = _random_scores(rng)
    expected = TopPLogitsWarper(p)(None, torch.from_numpy(scores.copy()))
    np.testing.assert_array_equal(top_p_filter(scores, p), expected.numpy())


def test_temperature_then_top_k_then_top_p_as_hugging_face_orders_them(rng):
    scores = _random_scores(rng)
    t = torch.from_numpy(scores.copy())
    for proc in (TemperatureLogitsWarper(0.6), TopKLogitsWarper(40), TopPLogitsWarper(0.8)):
        t = proc(None, t)
    ours = top_p_filter(top_k_filter(scores / np.float32(0.6), 40), 0.8)
    np.testing.assert_array_equal(ours, t.numpy())


# ---- eos, streaming, errors ----

def test_eos_stops_and_pads_finished_sequences(rng):
    _, ours = make_gpt_pair(rng)
    ids = pyllm.tensor(rng.integers(0, 1001, (2, 3)))
    free = ours.generate(ids, 10, do_sample=False).numpy()
    eos = int(free[0, 5])  # row 0 emits it by its third new token
    got = ours.generate(ids, 10, do_sample=False, eos_token_id=eos).numpy()
    first = [next((j for j in range(3, 13) if free[r, j] == eos), None) for r in range(2)]
    length = 13 if None in first else max(first) + 1  # stops once every row has finished
    assert got.shape == (2, length)
    for r in range(2):
        end = length if first[r] is None else first[r] + 1
        np.testing.assert_array_equal(got[r, :end], free[r, :end])
        assert (got[r, end:] == eos).all()  # padded with eos after finishing
    single = ours.generate(ids[:1], 10, do_sample=False, eos_token_id=[10**6, eos]).numpy()
    np.testing.assert_array_equal(single, free[:1, :first[0] + 1])


def test_streamer_receives_each_new_token(rng):
    _, ours = make_llama_pair(rng)
    ids = pyllm.tensor(rng.integers(0, 1001, (1, 3)))
    seen = []
    out = ours.generate(ids, 6, seed=1, streamer=seen.append).numpy()
    assert seen == out[0, 3:].tolist()
    batch = []
    out = ours.generate(pyllm.tensor(rng.integers(0, 1001, (2, 3))), 2, do_sample=False, streamer=batch.append)
    assert batch == out.numpy()[:, 3:].T.tolist()


def test_generate_restores_training_mode(rng):
    _, ours = make_gpt_pair(rng)
    ours.train()
    ours.generate(pyllm.tensor([[1]]), 2)
    assert ours.training and ours.transformer.h[0].attn.training


@pytest.mark.parametrize("kwargs,message", [
    (dict(temperature=0.0), "temperature must be > 0"),
    (dict(top_k=0), "top_k must be a positive int"),
    (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
    (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
    (dict(repetition_penalty=0.0), "repetition_penalty must be > 0"),
    (dict(max_new_tokens=-1), "max_new_tokens must be a non-negative int"),
    (dict(eos_token_id="x"), "eos_token_id must be an int"),
])
def test_generate_argument_errors(rng, kwargs, message):
    _, ours = make_gpt_pair(rng)
    kwargs = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        ours.generate(pyllm.tensor([[1, 2]]), **kwargs)


def test_generate_input_errors(rng):
    _, ours = make_gpt_pair(rng)
    with pytest.raises(ValueError, match=r"idx must be integer token ids of shape \(B, T\)"):
        ours.generate(pyllm.tensor([1, 2]), 2)
    with pytest.raises(ValueError, match="at least one token"):
        ours.generate(pyllm.zeros(1, 0, dtype=pyllm.int64), 2)
    with pytest.raises(TypeError, match="streamer must be callable"):
        ours.generate(pyllm.tensor([[1]]), 2, streamer="stdout")

"""Batches of prompts of different lengths, left-padded with an attention_mask, vs Hugging Face's GPT-2 and
Llama holding the same weights (tests/hf_pairs.py)."""
import numpy as np
import pytest
import torch

import pyllm
from hf_pairs import make_gpt_pair, make_llama_pair
from util import assert_same_greedy_tokens

PAD = 0
ARCHS = ["gpt", "llama"]


def _pair(rng, arch):
    return make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng)


def _left_padded(rng, lengths, T):
    """Random prompts of the given lengths, left-padded with PAD to T: ids (B, T), mask (B, T), the prompts."""
    prompts = [rng.integers(1, 1001, n) for n in lengths]
    ids = np.full((len(lengths), T), PAD, dtype=np.int64)
    mask = np.zeros((len(lengths), T), dtype=np.int64)
    for row, p in enumerate(prompts):
        ids[row, T - len(p):], mask[row, T - len(p):] = p, 1
    return ids, mask, prompts


def _hf_logits(hf, ids, mask):
    """HF's logits (B, T, V) for a left-padded batch, with the position ids its generate derives from the mask."""
    mask = torch.from_numpy(np.asarray(mask, dtype=np.int64))
    position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    with torch.no_grad():
        return hf(torch.from_numpy(np.asarray(ids)), attention_mask=mask, position_ids=position_ids).logits.numpy()


def _hf_greedy(hf, ids, mask, n):
    return hf.generate(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), max_new_tokens=n,
                       do_sample=False, pad_token_id=PAD, eos_token_id=None, bos_token_id=None).numpy()


def _assert_same_greedy_rows(hf, got, expected, mask):
    """Row by row, so the reference's scores are computed with that row's padding."""
    for row in range(len(got)):
        pad = int((mask[row] == 0).sum())
        assert_same_greedy_tokens(
            got[row:row + 1], expected[row:row + 1],
            lambda prefix: _hf_logits(hf, prefix[None], (np.arange(len(prefix)) >= pad)[None])[0, -1])


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_at_real_positions_match_hugging_face(rng, arch):
    hf, ours = _pair(rng, arch)
    ids, mask, _ = _left_padded(rng, [7, 3, 5, 1], 7)
    with pyllm.no_grad():
        logits, _ = ours(pyllm.tensor(ids), attention_mask=pyllm.tensor(mask))
    got, expected = logits.numpy(), _hf_logits(hf, ids, mask)
    assert np.isfinite(got).all()  # padding queries too: a NaN there would spread through the next layer
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], expected[real], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_matches_hugging_face_and_each_prompt_alone(rng, arch):
    hf, ours = _pair(rng, arch)
    ids, mask, prompts = _left_padded(rng, [2, 6, 4], 6)
    got = ours.generate(pyllm.tensor(ids), 10, do_sample=False, attention_mask=pyllm.tensor(mask)).numpy()
    np.testing.assert_array_equal(got[:, :6], ids)  # the padding stays in the output
    _assert_same_greedy_rows(hf, got, _hf_greedy(hf, ids, mask, 10), mask)
    for row, p in enumerate(prompts):  # each row, padding dropped, is what its prompt alone generates
        alone = p[None].astype(np.int64)
        expected = _hf_greedy(hf, alone, np.ones_like(alone), 10)
        assert_same_greedy_tokens(got[row:row + 1, 6 - len(p):], expected,
                                  lambda prefix: _hf_logits(hf, prefix[None], np.ones((1, len(prefix))))[0, -1])


@pytest.mark.parametrize("arch", ARCHS)
def test_kv_cache_equals_no_cache_with_padding(rng, arch):
    _, ours = _pair(rng, arch)
    ids, mask, _ = _left_padded(rng, [1, 5, 3], 5)
    x, m = pyllm.tensor(ids), pyllm.tensor(mask)
    with_cache = ours.generate(x, 9, do_sample=False, attention_mask=m, use_cache=True).numpy()
    without = ours.generate(x, 9, do_sample=False, attention_mask=m, use_cache=False).numpy()
    np.testing.assert_array_equal(with_cache, without)
    # Step by step through the cache, the mask growing by a real column, vs the whole sequence at once.
    full_mask = np.concatenate([mask, np.ones((3, 9), dtype=np.int64)], axis=1)
    with pyllm.no_grad():
        whole, _ = ours(pyllm.tensor(with_cache[:, :-1]), attention_mask=pyllm.tensor(full_mask[:, :-1]))
        cache = ours.new_kv_cache()
        first, _ = ours(x, kv_cache=cache, attention_mask=m)
        steps = [first.numpy()]
        for t in range(5, 13):
            step, _ = ours(pyllm.tensor(with_cache[:, t:t + 1]), kv_cache=cache,
                           attention_mask=pyllm.tensor(full_mask[:, :t + 1]))
            steps.append(step.numpy())
    real = full_mask[:, :-1].astype(bool)
    np.testing.assert_allclose(np.concatenate(steps, axis=1)[real], whole.numpy()[real], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_no_mask_and_an_all_ones_mask_give_identical_tokens(rng, arch):
    _, ours = _pair(rng, arch)
    ids = pyllm.tensor(rng.integers(0, 1001, (2, 4)))
    seed = int(rng.integers(1 << 31))
    plain = ours.generate(ids, 8, seed=seed, top_k=50).numpy()
    ones = ours.generate(ids, 8, seed=seed, top_k=50, attention_mask=pyllm.ones(2, 4, dtype=pyllm.int64)).numpy()
    np.testing.assert_array_equal(plain, ones)


def test_finished_rows_are_padded_with_eos(rng):
    hf, ours = make_gpt_pair(rng)
    ids, mask, _ = _left_padded(rng, [2, 4], 4)
    free = ours.generate(pyllm.tensor(ids), 8, do_sample=False, attention_mask=pyllm.tensor(mask)).numpy()
    eos = int(free[0, 6])  # row 0 emits it as its third new token
    got = ours.generate(pyllm.tensor(ids), 8, do_sample=False, attention_mask=pyllm.tensor(mask),
                        eos_token_id=eos).numpy()
    expected = hf.generate(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), max_new_tokens=8,
                           do_sample=False, pad_token_id=eos, eos_token_id=eos, bos_token_id=None).numpy()
    first = int(np.flatnonzero(got[0, 4:] == eos)[0]) + 4
    assert (got[0, first:] == eos).all()
    # both stop once every row has finished; compared over HF's length (a shorter one of ours fails on shape)
    _assert_same_greedy_rows(hf, got[:, :expected.shape[1]], expected, mask)


@pytest.mark.parametrize("arch", ARCHS)
def test_bad_attention_masks_raise(rng, arch):
    _, ours = _pair(rng, arch)
    ids = pyllm.tensor(rng.integers(1, 1001, (2, 4)))
    name = "GPT" if arch == "gpt" else "Llama"
    with pytest.raises(ValueError, match=r"generate: attention_mask must have shape \(2, 4\).*\(2, 3\)"):
        ours.generate(ids, 2, attention_mask=pyllm.ones(2, 3, dtype=pyllm.int64))
    with pytest.raises(ValueError, match="generate: attention_mask row 1 has a 0 after a 1 .right padding"):
        ours.generate(ids, 2, attention_mask=pyllm.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    with pytest.raises(ValueError, match=f"{name}: attention_mask row 0 has a 0 after a 1 .right padding"):
        ours(ids, attention_mask=pyllm.tensor([[0, 1, 0, 1], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match=rf"{name}: attention_mask must have shape \(2, 6\)"):
        cache = ours.new_kv_cache()  # with a cache the mask spans the cached and the new tokens
        with pyllm.no_grad():
            ours(ids[:, :2], kv_cache=cache)
            ours(ids, kv_cache=cache, attention_mask=pyllm.ones(2, 4, dtype=pyllm.int64))
    with pytest.raises(ValueError, match=f"{name}: attention_mask row 1 is all padding"):
        ours(ids, attention_mask=pyllm.tensor([[0, 1, 1, 1], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=f"{name}: attention_mask must hold 0 .padding. and 1"):
        ours(ids, attention_mask=pyllm.tensor([[0.0, 1.0, 1.0, 1.0]] * 2))


def test_rotary_per_row_positions_match_hugging_face(rng):
    # RoPE scores depend only on distances, so the logits above hardly see a shift of every position: check
    # the per-row rotation itself against HF's LlamaRotaryEmbedding + apply_rotary_pos_emb.
    from transformers import LlamaConfig as HFLlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
    hf_rope = LlamaRotaryEmbedding(HFLlamaConfig(hidden_size=48, num_attention_heads=6, rope_theta=500.0))
    q = rng.standard_normal((3, 6, 5, 8)).astype(np.float32)
    pos = rng.integers(0, 40, (3, 5))
    cos, sin = hf_rope(torch.from_numpy(q), torch.from_numpy(pos))
    expected, _ = apply_rotary_pos_emb(torch.from_numpy(q), torch.from_numpy(q), cos, sin)
    got = pyllm.nn.RotaryEmbedding(8, 500.0)(pyllm.tensor(q), position_ids=pyllm.tensor(pos))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r"RotaryEmbedding: position_ids must be integer \(B, T\)"):
        pyllm.nn.RotaryEmbedding(8)(pyllm.tensor(q), position_ids=pyllm.tensor(pos[:, :4]))

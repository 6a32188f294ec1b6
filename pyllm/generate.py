"""Autoregressive generation for decoder-only models (``GPT``, ``Llama``), with Hugging Face's semantics.

Each step runs the model on the new token(s) (all of them on the first step; one after that, with the KV
cache), turns the last position's logits into next-token scores, and picks a token:

    scores = logits[:, -1]
    scores = apply_repetition_penalty(scores, ids, penalty)   # HF's RepetitionPenaltyLogitsProcessor
    if do_sample:
        scores = scores / temperature                     # TemperatureLogitsWarper
        scores = top_k_filter(scores, top_k)              # TopKLogitsWarper
        scores = top_p_filter(scores, top_p)              # TopPLogitsWarper
        next = a draw from softmax(scores)
    else:
        next = argmax(scores)                             # greedy

The per-step work after the model is on a (B, vocab) array, so it is written with NumPy. Sampling draws
its uniform numbers from pyllm's generator: ``pyllm.manual_seed`` or ``seed=`` make it reproducible.

Prompts of different lengths go in one batch left-padded, with an ``attention_mask`` (B, T): 1 at real
tokens, 0 at the padding before them (Hugging Face's convention for decoder-only models). The model then
masks the padding keys out of attention and counts each row's positions from its first real token, so
each row generates what its prompt alone would; every new token is real, so the mask grows by a column
of ones a step.

A model whose positions are learned (GPT's ``block_size``) sees at most its last ``max_context`` tokens, as
nanoGPT crops them; with the cache, a full window is recomputed instead of extended, so the tokens are the
same with and without the cache.

>>> import pyllm
>>> from pyllm.models import GPT, GPTConfig
>>> model = GPT(GPTConfig(block_size=16, vocab_size=50, n_layer=1, n_head=2, n_embd=8), verbose=False)
>>> model.generate(pyllm.tensor([[1, 2]]), max_new_tokens=3, do_sample=False).shape
(1, 5)
>>> model.generate(pyllm.tensor([[0, 7], [1, 2]]), max_new_tokens=3, do_sample=False,   # row 0: the prompt [7]
...                attention_mask=pyllm.tensor([[0, 1], [1, 1]])).shape
(2, 5)
"""
import numpy as np

from . import _core
from ._creation import rand, tensor
from .autograd import no_grad


def apply_repetition_penalty(scores, input_ids, penalty):
    """Scores of tokens already in ``input_ids`` (B, T) are divided by ``penalty`` if positive, multiplied
    if negative (Keskar et al., CTRL): penalty > 1 discourages repeats. scores: (B, V)."""
    scores = np.array(scores, dtype=np.float32)
    ids = np.asarray(input_ids, dtype=np.int64)
    seen = np.take_along_axis(scores, ids, axis=1)
    np.put_along_axis(scores, ids, np.where(seen < 0, seen * np.float32(penalty), seen / np.float32(penalty)), axis=1)
    return scores


def top_k_filter(scores, top_k):
    """Keeps the ``top_k`` highest scores per row (and any tied with the k-th), the rest set to -inf."""
    scores = np.array(scores, dtype=np.float32)
    k = min(top_k, scores.shape[-1])
    kth = np.partition(scores, scores.shape[-1] - k, axis=-1)[:, scores.shape[-1] - k:].min(axis=-1, keepdims=True)
    scores[scores < kth] = -np.inf
    return scores


def top_p_filter(scores, top_p):
    """Nucleus sampling (Holtzman et al.): keeps the smallest set of highest-probability tokens whose
    probabilities sum to more than ``top_p`` (at least one token); the rest set to -inf. As HF: sort
    ascending, drop the tokens whose cumulative probability is <= 1 - top_p."""
    scores = np.array(scores, dtype=np.float32)
    order = np.argsort(scores, axis=-1, kind="stable")                         # ascending
    sorted_scores = np.take_along_axis(scores, order, axis=-1)
    probs = np.exp(sorted_scores - sorted_scores[:, -1:])
    cumulative = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    remove_sorted = cumulative <= 1 - top_p
    remove_sorted[:, -1] = False                                               # the most likely always stays
    remove = np.zeros_like(remove_sorted)
    np.put_along_axis(remove, order, remove_sorted, axis=-1)
    scores[remove] = -np.inf
    return scores


def check_attention_mask(attention_mask, shape, who):
    """``attention_mask`` (a pyllm tensor or array of 0/1 ints or bools) of exactly ``shape`` (B, T), each
    row left-padded (zeros, then ones, at least one) -> a NumPy bool array; anything else raises ValueError."""
    m = np.asarray(attention_mask.numpy() if hasattr(attention_mask, "numpy") else attention_mask)
    if m.shape != tuple(shape):
        raise ValueError(f"{who}: attention_mask must have shape {tuple(shape)} (batch, past + new tokens), got "
                         f"{m.shape}")
    if m.dtype.kind not in "biu" or not np.isin(m, (0, 1)).all():
        raise ValueError(f"{who}: attention_mask must hold 0 (padding) and 1 (real token) as ints or bools, got "
                         f"{m.dtype} values {np.unique(m)[:5].tolist()}")
    m = m.astype(bool)
    right = np.flatnonzero((m[:, :-1] & ~m[:, 1:]).any(axis=1))
    if right.size:
        raise ValueError(f"{who}: attention_mask row {right[0]} has a 0 after a 1 (right padding); pad prompts on "
                         f"the left for generation")
    empty = np.flatnonzero(~m.any(axis=1))
    if empty.size:
        raise ValueError(f"{who}: attention_mask row {empty[0]} is all padding (no real token)")
    return m


def left_padding(attention_mask, B, past, T, who):
    """What a decoder needs for its T new tokens from a left-padded ``attention_mask`` (B, past + T) over
    the cached and the new tokens: ``(attn_mask, position_ids)``, or ``(None, None)`` without padding.

    position_ids (B, T) int64 count real tokens only, as HF's generate: cumsum(mask) - 1, and 1 at padding.
    attn_mask (B, 1, T, past + T) bool is True where a query may not look: the padding keys, except each
    token's own key, so that a padding query (which sees only padding) still attends somewhere and yields a
    number, not a NaN that the next layer's matmul would spread (its output is never used).

    >>> attn_mask, pos = left_padding([[0, 1, 1]], 1, 0, 3, "doc")
    >>> pos.tolist(), attn_mask[0, 0].tolist()
    ([[1, 0, 1]], [[False, False, False], [True, False, False], [True, False, False]])
    """
    m = check_attention_mask(attention_mask, (B, past + T), who)
    if m.all():
        return None, None
    position_ids = np.cumsum(m, axis=-1) - 1                                   # (B, past + T)
    position_ids[~m] = 1
    own_key = np.arange(past + T)[None, :] == np.arange(past, past + T)[:, None]  # (T, past + T)
    blocked = ~m[:, None, None, :] & ~own_key[None, None]                      # (B, 1, T, past + T)
    return tensor(blocked), tensor(position_ids[:, past:])


def _check_arguments(idx, max_new_tokens, temperature, top_k, top_p, repetition_penalty, eos_token_id,
                     streamer):
    if idx.ndim != 2 or idx.dtype.is_floating_point:
        raise ValueError(f"generate: idx must be integer token ids of shape (B, T), got {idx.dtype} of shape "
                         f"{tuple(idx.shape)}")
    if idx.shape[1] == 0:
        raise ValueError("generate: idx must hold at least one token per sequence (the prompt)")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
    if not temperature > 0:
        raise ValueError(f"generate: temperature must be > 0, got {temperature!r} (use do_sample=False for "
                         f"greedy decoding)")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"generate: top_p must be in (0, 1] or None, got {top_p!r}")
    if not repetition_penalty > 0:
        raise ValueError(f"generate: repetition_penalty must be > 0, got {repetition_penalty!r}")
    if eos_token_id is not None and not all(isinstance(t, int) for t in np.atleast_1d(eos_token_id).tolist()):
        raise ValueError(f"generate: eos_token_id must be an int, a list of ints or None, got {eos_token_id!r}")
    if streamer is not None and not callable(streamer):
        raise TypeError(f"generate: streamer must be callable (it receives each new token id), got "
                        f"{type(streamer).__name__}")


def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, repetition_penalty=1.0,
             eos_token_id=None, do_sample=True, seed=None, use_cache=True, streamer=None, attention_mask=None):
    """Appends up to ``max_new_tokens`` tokens to ``idx`` (B, T) and returns the (B, T + n) ids.

    ``do_sample=False``: greedy (temperature, top_k and top_p are then unused, as in HF). ``eos_token_id``
    (an int or a list): a sequence that produced it is finished and padded with it (the first one) from
    then on; generation stops once every sequence is finished. ``seed``: a private generator for the
    draws (otherwise pyllm's global one). ``streamer``: called after each step with the new token id (an
    int; a list of B ids for a batch). ``attention_mask`` (B, T) ints or bools: 0 at the left padding of
    prompts shorter than T, 1 at real tokens (default: all real); the padding stays in the returned ids.
    The model runs in eval mode (no dropout), restored afterwards.
    """
    _check_arguments(idx, max_new_tokens, temperature, top_k, top_p, repetition_penalty, eos_token_id, streamer)
    mask = None if attention_mask is None else check_attention_mask(attention_mask, idx.shape, "generate")
    eos = None if eos_token_id is None else np.atleast_1d(np.asarray(eos_token_id, dtype=np.int64))
    generator = _core.Generator(seed) if seed is not None else None
    window = model.max_context
    ids = np.array(idx.numpy(), dtype=np.int64)                                # (B, T), grows by a column a step
    finished = np.zeros(ids.shape[0], dtype=bool)
    cache = None
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for _ in range(max_new_tokens):
                context = ids if window is None else ids[:, -window:]          # nanoGPT's crop to the window
                if use_cache and cache is not None and cache[0].seq_len + 1 <= context.shape[1]:
                    step_ids = context[:, cache[0].seq_len:]                   # only the new token
                else:
                    cache = model.new_kv_cache() if use_cache else None        # first step, or the window slid
                    step_ids = context
                step_mask = None if mask is None else tensor(mask[:, -context.shape[1]:])  # cached + new keys
                logits, _ = model(tensor(step_ids), kv_cache=cache, attention_mask=step_mask)
                scores = np.asarray(logits[:, -1].numpy(), dtype=np.float32)   # (B, V)
                if repetition_penalty != 1.0:
                    scores = apply_repetition_penalty(scores, ids, repetition_penalty)
                if do_sample:
                    next_ids = _sample(scores, temperature, top_k, top_p, generator)
                else:
                    next_ids = scores.argmax(axis=-1)
                if eos is not None:
                    next_ids = np.where(finished, eos[0], next_ids)
                    finished |= np.isin(next_ids, eos)
                ids = np.concatenate([ids, next_ids[:, None]], axis=1)
                if mask is not None:
                    mask = np.concatenate([mask, np.ones((len(ids), 1), dtype=bool)], axis=1)  # a real token
                if streamer is not None:
                    streamer(int(next_ids[0]) if len(next_ids) == 1 else next_ids.tolist())
                if eos is not None and finished.all():
                    break
    finally:
        model.train(was_training)
    return tensor(ids)



def _sample(scores, temperature, top_k, top_p, generator):
    """One draw per row from softmax of the warped scores, by inverting the cumulative distribution."""
    if temperature != 1.0:
        scores = scores / np.float32(temperature)
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None and top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    probs = np.exp(scores.astype(np.float64) - scores.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)                                            # (B, V), unnormalised
    u = rand(scores.shape[0], dtype=_core.dtype.float64, generator=generator).numpy() * cdf[:, -1]
    picks = [np.searchsorted(row, x, side="right") for row, x in zip(cdf, u)]
    return np.minimum(np.array(picks, dtype=np.int64), scores.shape[-1] - 1)

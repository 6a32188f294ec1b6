"""Decoding for encoder-decoder models (``Transformer``): greedy search and beam search, with Hugging Face's
semantics (``model.generate(src, num_beams=4)`` picks the tokens ``MarianMTModel.generate`` picks).

The source is encoded once; the decoder then runs one token a step with its KV cache (the cross-attention
keys and values are computed on the first step and reused).

Greedy: the most likely next token; a sequence that produced ``eos`` is finished and padded from then on.

Beam search keeps ``num_beams`` running hypotheses per source sentence, scored by the sum of their tokens'
log-probabilities. Each step extends every beam by every token and keeps the best 2 * num_beams candidates:

- a candidate that ends in eos (or reaches the length limit) and ranks in the first num_beams is a *finished*
  hypothesis, scored ``sum_logprobs / generated_length ** length_penalty`` (the length counts eos; a
  length_penalty > 0 favours longer outputs), and goes into the sentence's set of the num_beams best finished
  ones;
- the best num_beams candidates that do not end in eos are the next running beams.

A sentence is done when its finished set is full and ``early_stopping`` says so: ``True`` at once;
``False`` (the default) when the best running beam, scored at its current length, could not enter the set;
``"never"`` as False, but with the longest possible length when length_penalty > 0 (so the bound is exact).
Search stops when every sentence is done or the length limit is reached, and each sentence returns its best
finished hypothesis.

>>> import pyllm
>>> from pyllm.models import Transformer, TransformerConfig
>>> model = Transformer(TransformerConfig(vocab_size=30, d_model=8, encoder_layers=1, decoder_layers=1,
...     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16), verbose=False)
>>> out = model.generate(pyllm.tensor([[4, 5, 6]]), max_new_tokens=5, num_beams=3)
>>> out.shape[0], out[0, 0].item()       # each row starts with the decoder's start token (bos)
(1, 1)
"""
import numpy as np

from ._creation import tensor
from .autograd import no_grad

NEG = np.float32(-1e9)  # HF's "impossible" score offset, kept in float32 as HF does, so ties break alike


def _log_softmax(logits):
    """float32 log-softmax of (N, V) rows."""
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _topk(scores, k):
    """Indices of the k highest scores per row, best first (ties: the lower index first)."""
    return np.argsort(-scores, axis=-1, kind="stable")[:, :k]


def _check_arguments(src, src_padding_mask, max_new_tokens, num_beams, early_stopping):
    if src.ndim != 2 or src.dtype.is_floating_point:
        raise ValueError(f"generate: src must be integer token ids of shape (B, S), got {src.dtype} of shape "
                         f"{tuple(src.shape)}")
    if src_padding_mask is not None and tuple(src_padding_mask.shape) != tuple(src.shape):
        raise ValueError(f"generate: src_padding_mask of shape {tuple(src_padding_mask.shape)} does not match src "
                         f"{tuple(src.shape)}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"generate: num_beams must be a positive int, got {num_beams!r}")
    if early_stopping not in (True, False, "never"):
        raise ValueError(f"generate: early_stopping must be True, False or 'never', got {early_stopping!r}")


def generate_seq2seq(model, src, src_padding_mask=None, max_new_tokens=64, num_beams=1, length_penalty=1.0,
                     early_stopping=False, decoder_start_token_id=None, eos_token_id=None, pad_token_id=None,
                     use_cache=True, forced_eos_token_id=None, suppress_tokens=None):
    """Translates ``src`` (B, S): returns int64 ids (B, 1 + n), each row the start token then up to
    ``max_new_tokens`` tokens, padded with pad_token_id after eos; n is the longest row's length.

    ``num_beams=1``: greedy search; more: beam search. Token ids default to the model config's (bos_token_id
    is the decoder's start). ``forced_eos_token_id`` (default: the config's, Marian's 0; None there: off) is the
    token a row that reaches the length limit ends with, as HF's ForcedEOSTokenLogitsProcessor forces it: the
    last step may pick only it. ``suppress_tokens`` (default: the config's ``suppress_token_ids``) are never
    picked (HF's one-token ``bad_words_ids``: opus-mt's pad), and with ``renormalize_logits`` beam search re-normalises each step's
    scores after suppressing and forcing, as HF does. ``use_cache=False`` recomputes the decoder over the whole prefix each step (the
    same tokens, slower). The model runs in eval mode (no dropout), restored afterwards.
    """
    _check_arguments(src, src_padding_mask, max_new_tokens, num_beams, early_stopping)
    cfg = model.config
    start = cfg.bos_token_id if decoder_start_token_id is None else int(decoder_start_token_id)
    eos = cfg.eos_token_id if eos_token_id is None else int(eos_token_id)
    pad = cfg.pad_token_id if pad_token_id is None else int(pad_token_id)
    forced = getattr(cfg, "forced_eos_token_id", None) if forced_eos_token_id is None else int(forced_eos_token_id)
    suppress = tuple(getattr(cfg, "suppress_token_ids", ()) if suppress_tokens is None else suppress_tokens)
    vocab = model.lm_head.weight.shape[0]
    for t in suppress + (() if forced is None else (forced,)):
        if not 0 <= int(t) < vocab:
            raise ValueError(f"generate: token id {t} in suppress_tokens/forced_eos_token_id is not in the "
                             f"vocabulary of {vocab}")
    process = _processor(suppress, forced, getattr(cfg, "renormalize_logits", False))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            memory = model.encode(src, src_padding_mask)
            if num_beams == 1:
                ids = _greedy(model, memory, src_padding_mask, max_new_tokens, start, eos, pad, use_cache, process)
            else:
                ids = _beam(model, memory, src_padding_mask, max_new_tokens, num_beams, float(length_penalty),
                            early_stopping, start, eos, pad, use_cache, process)
    finally:
        model.train(was_training)
    return tensor(ids)


def _next_logits(model, ids, memory, src_padding_mask, cache):
    """The decoder's float32 logits (N, V) after the prefixes ``ids`` (N, t): with the cache only the last
    token is fed."""
    step = ids[:, -1:] if cache is not None else ids
    logits = model.decode(tensor(step), memory, src_padding_mask, kv_cache=cache)
    return np.asarray(logits[:, -1].numpy(), dtype=np.float32)


def _processor(suppress, forced, renormalize):
    """``process(scores (N, V), last_step) -> scores``: HF's logits processors, in its order: suppressed tokens
    -inf (NoBadWords), at the last step -inf everywhere but the forced eos, which scores 0 (ForcedEOS), then
    log-softmax again (LogitNormalization, for renormalize)."""
    def process(scores, last):
        if suppress:
            scores = scores.copy()
            scores[:, list(suppress)] = -np.inf
        if forced is not None and last:
            scores = np.full_like(scores, -np.inf)
            scores[:, forced] = 0.0
        return _log_softmax(scores) if renormalize else scores
    return process


def _greedy(model, memory, src_padding_mask, max_new_tokens, start, eos, pad, use_cache, process=None):
    B = memory.shape[0]
    ids = np.full((B, 1), start, dtype=np.int64)                               # grows by a column a step
    finished = np.zeros(B, dtype=bool)
    cache = model.new_kv_cache() if use_cache else None
    for step in range(max_new_tokens):
        logits = _next_logits(model, ids, memory, src_padding_mask, cache)
        if process is not None:
            logits = process(logits, step == max_new_tokens - 1)
        next_ids = logits.argmax(axis=-1)
        next_ids = np.where(finished, pad, next_ids)
        finished |= next_ids == eos
        ids = np.concatenate([ids, next_ids[:, None]], axis=1)
        if finished.all():
            break
    return ids


def _beam(model, memory, src_padding_mask, max_new_tokens, K, length_penalty, early_stopping, start, eos, pad,
          use_cache, process=None):
    """Beam search as HF's ``_beam_search`` (transformers 4.57), on (B, K, ...) NumPy arrays."""
    B = memory.shape[0]
    rows = tensor(np.repeat(np.arange(B), K))                                  # each sentence K times
    memory = memory[rows]                                                      # (B, S, C) -> (B * K, S, C)
    if src_padding_mask is not None:
        src_padding_mask = src_padding_mask[rows]
    max_length = 1 + max_new_tokens
    keep = 2 * K                                                               # candidates per step (one eos id)
    running = np.full((B, K, max_length), pad, dtype=np.int64)
    running[:, :, 0] = start
    running_scores = np.zeros((B, K), dtype=np.float32)
    running_scores[:, 1:] = NEG                                                # all beams start equal: use one
    done_seqs = running.copy()                                                 # the finished set, best first
    done_scores = np.full((B, K), NEG, dtype=np.float32)
    done_lengths = np.zeros((B, K), dtype=np.int64)                            # generated tokens, eos included
    done = np.zeros((B, K), dtype=bool)                                        # slot holds a real hypothesis
    improvable = np.ones((B, 1), dtype=bool)
    cache = model.new_kv_cache() if use_cache else None
    cur_len = 1
    while cur_len < max_length:
        logp = _log_softmax(_next_logits(model, running[:, :, :cur_len].reshape(B * K, cur_len), memory,
                                         src_padding_mask, cache))             # (B * K, V)
        if process is not None:
            logp = process(logp, cur_len == max_length - 1)
        V = logp.shape[-1]
        total = (logp.reshape(B, K, V) + running_scores[:, :, None]).reshape(B, K * V)
        top = _topk(total, keep)                                               # (B, 2K) into beam * V + token
        top_scores = np.take_along_axis(total, top, axis=1)
        parent, token = top // V, top % V
        cand = np.take_along_axis(running, parent[:, :, None], axis=1)         # (B, 2K, max_length)
        cand[:, :, cur_len] = token
        ends = (token == eos) | (cur_len + 1 >= max_length)                    # (B, 2K)

        # the next running beams: the best K candidates that go on
        open_scores = top_scores + ends.astype(np.float32) * NEG
        nxt = _topk(open_scores, K)
        running = np.take_along_axis(cand, nxt[:, :, None], axis=1)
        running_scores = np.take_along_axis(open_scores, nxt, axis=1)
        parent_rows = (np.take_along_axis(parent, nxt, axis=1) + np.arange(B)[:, None] * K).reshape(-1)

        # the finished set: merge in the candidates that ended among the first K, keep the best K
        just_done = ends & (np.arange(keep) < K)
        scores = top_scores / np.float32(cur_len ** length_penalty)           # cur_len tokens generated
        full = done.all(axis=1, keepdims=True) & (early_stopping is True)
        scores = scores + full * NEG + (~improvable) * NEG + (~just_done) * NEG
        merged = np.concatenate([done_scores, scores], axis=1)                 # (B, 3K)
        best = _topk(merged, K)
        done_seqs = np.take_along_axis(np.concatenate([done_seqs, cand], axis=1), best[:, :, None], axis=1)
        done_lengths = np.take_along_axis(np.concatenate([done_lengths, np.full((B, keep), cur_len)], axis=1), best,
                                          axis=1)
        done = np.take_along_axis(np.concatenate([done, just_done], axis=1), best, axis=1)
        done_scores = np.take_along_axis(merged, best, axis=1)

        if cache is not None:
            index = tensor(parent_rows)
            for self_cache, _ in cache:                                        # cross-attention rows stay put
                self_cache.reorder(index)
        cur_len += 1
        # can the best running beam still enter a full finished set?
        best_len = max_length - 1 if early_stopping == "never" and length_penalty > 0 else cur_len - 1
        best_running = running_scores[:, :1] / np.float32(best_len ** length_penalty)
        worst_done = np.where(done, done_scores.min(axis=1, keepdims=True), NEG)
        improvable &= (best_running > worst_done).any(axis=-1, keepdims=True)
        if not improvable.any() or (done.all() and early_stopping is True) or ends.all():
            break
    n = int(done_lengths[:, 0].max())
    return done_seqs[:, 0, :1 + n]

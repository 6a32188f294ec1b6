"""Sliding-window perplexity of a causal language model, as Hugging Face's guide "Perplexity of fixed-length
models" defines it.

A model that sees at most ``context_length`` tokens cannot score a long text in one forward pass. Windows of
up to ``context_length`` tokens start every ``stride`` tokens (0, stride, 2·stride, ... until a window reaches
the end); each window scores only the tokens that no earlier window scored, so every token is scored once,
with between ``context_length - stride`` and ``context_length - 1`` tokens of context (fewer at the start).
The first token has no context and is never scored; with ``stride == context_length`` (no overlap, fastest)
the first token of every window is not scored either. The result is exp(total NLL / tokens scored).

    stride = 2, context_length = 4, tokens t0..t6:
    window [t0 t1 t2 t3]  scores t1 t2 t3
    window [t2 t3 t4 t5]  scores t4 t5        (t2, t3 are context only)
    window [t4 t5 t6]     scores t6           (it reaches the end: the last window)

HF's code counts ``trg_len - 1`` scored tokens for every window, although overlapping windows after the first
score ``trg_len`` (the "- 1" is right only when the window has no context tokens); here the count is the
number of tokens scored, so the result is exactly exp(mean NLL) of the scored tokens.

>>> import pyllm
>>> uniform = lambda ids: pyllm.zeros(1, ids.shape[1], 50)     # every token has probability 1/50
>>> round(perplexity(uniform, list(range(20)), context_length=8, stride=4), 6)
50.0
"""
import math

import numpy as np

from .. import _core
from ..autograd import no_grad
from ..nn import functional as F


def _ids_array(token_ids):
    """token_ids (a list, a NumPy array or a pyllm tensor) as a 1-D int64 NumPy array."""
    if isinstance(token_ids, _core.Tensor):
        if token_ids.dtype.is_floating_point:
            raise TypeError(f"perplexity: token_ids must hold integers, got a {token_ids.dtype} tensor")
        token_ids = np.asarray(token_ids.detach())
    ids = np.asarray(token_ids)
    if ids.ndim != 1:
        raise ValueError(f"perplexity: token_ids must be 1-D (one sequence), got shape {tuple(ids.shape)}")
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"perplexity: token_ids must be integers, got {ids.dtype}")
    return ids.astype(np.int64)


def _logits(output, length):
    """The (1, T, V) logits out of a model's return value: a tensor, a tuple whose first item is the logits
    (nanoGPT's (logits, loss)), or an object with ``.logits`` (Hugging Face's outputs)."""
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    output = getattr(output, "logits", output)
    if not isinstance(output, _core.Tensor):
        raise TypeError(f"perplexity: the model returned a {type(output).__name__}, not a logits tensor")
    if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] != length:
        raise ValueError(f"perplexity: the model returned logits of shape {tuple(output.shape)} for a window "
                         f"of {length} tokens; expected (1, {length}, vocab_size)")
    return output


def perplexity(model, token_ids, context_length, stride=None):
    """exp(mean negative log-likelihood) of ``token_ids`` under ``model``, scored in sliding windows.

    model: any callable taking a (1, T) int64 pyllm tensor of ids (T <= context_length) and returning its
        (1, T, V) next-token logits (pyllm's models are such callables; a (logits, ...) tuple or an object
        with ``.logits`` works too). It runs under ``pyllm.no_grad()``, switched to eval mode by ``.eval()``
        if it has one (and back to training mode afterwards if its ``.training`` was True).
    token_ids: the text's ids, a list, a 1-D NumPy integer array or a 1-D pyllm integer tensor (>= 2 ids).
    context_length: the longest window the model is given (>= 2), usually its block size.
    stride: how far each window starts after the previous one, 1 <= stride <= context_length; default
        ``context_length`` (no overlap). A smaller stride gives each token more context and a lower, more
        honest perplexity, at context_length / stride times the cost.
    """
    ids = _ids_array(token_ids)
    if not isinstance(context_length, (int, np.integer)) or context_length < 2:
        raise ValueError(f"perplexity: context_length must be an integer >= 2, got {context_length!r}")
    stride = context_length if stride is None else stride
    if not isinstance(stride, (int, np.integer)) or stride <= 0:
        raise ValueError(f"perplexity: stride must be a positive integer, got {stride!r}")
    if stride > context_length:
        raise ValueError(f"perplexity: stride {stride} > context_length {context_length} would skip tokens")
    if len(ids) < 2:
        raise ValueError(f"perplexity: needs at least 2 tokens (the first is only context), got {len(ids)}")

    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total_nll, scored = 0.0, 0
    prev_end = 0  # tokens before this were scored by earlier windows
    try:
        with no_grad():
            for begin in range(0, len(ids), stride):
                end = min(begin + context_length, len(ids))
                first = max(prev_end, begin + 1)  # the first token this window scores
                if first == end:  # a last window of one token, already scored: nothing left to score
                    break
                window = _core.from_numpy(ids[begin:end].copy()).view(1, -1)  # (1, T)
                logits = _logits(model(window), end - begin)  # (1, T, V)
                # The logits at window position p predict token begin + p + 1.
                predictions = logits[0, first - 1 - begin:end - 1 - begin]  # (end - first, V)
                targets = _core.from_numpy(ids[first:end].copy())  # (end - first,)
                # float64: the sum runs over up to context_length log-probabilities per window.
                total_nll += F.cross_entropy(predictions.double(), targets, reduction="sum").item()
                scored += end - first
                prev_end = end
                if end == len(ids):
                    break
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return math.exp(total_nll / scored)

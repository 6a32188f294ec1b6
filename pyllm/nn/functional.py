"""Functional ops with PyTorch's names and signatures; each is one call into the C++ core.

>>> import pyllm, pyllm.nn.functional as F
>>> F.softmax(pyllm.tensor([1.0, 2.0, 3.0]), dim=-1).tolist()  # doctest: +ELLIPSIS
[0.0900..., 0.2447..., 0.6652...]
"""
import builtins
import collections

from .. import _core

Tensor = _core.Tensor
_MaxResult = collections.namedtuple("max", ["values", "indices"])
_MinResult = collections.namedtuple("min", ["values", "indices"])
_TopkResult = collections.namedtuple("topk", ["values", "indices"])


def _as_tensor(value, like):
    """A Python scalar as a 0-d tensor of ``like``'s dtype (tensors pass through)."""
    if isinstance(value, Tensor):
        return value
    return _core.full([], builtins.float(value), like.dtype, like.device)


def _dims(dim):
    if dim is None:
        return []
    if isinstance(dim, (tuple, list)):
        return [builtins.int(d) for d in dim]
    return [builtins.int(dim)]


# ---- elementwise ----
def add(input, other, alpha=1):
    other = _as_tensor(other, input) if alpha == 1 else _as_tensor(other, input) * alpha
    return input + other if isinstance(input, Tensor) else other + input


def sub(input, other, alpha=1):
    return input - (other if alpha == 1 else other * alpha)


def mul(input, other):
    return input * other


def div(input, other):
    return input / other


def pow(input, exponent):
    """``input ** exponent``; a Python-number exponent takes the cheaper scalar path."""
    if isinstance(exponent, Tensor):
        if not isinstance(input, Tensor):
            input = _as_tensor(input, exponent)
        return _core.pow(input, exponent)
    return _core.pow_scalar(input, builtins.float(exponent))


def maximum(input, other):
    return _core.maximum(input, _as_tensor(other, input))


def minimum(input, other):
    return _core.minimum(input, _as_tensor(other, input))


neg = _core.neg
exp = _core.exp
log = _core.log
sqrt = _core.sqrt
rsqrt = _core.rsqrt
abs = _core.abs  # noqa: A001
sin = _core.sin
cos = _core.cos
tanh = _core.tanh
sigmoid = _core.sigmoid
logical_not = _core.logical_not


def relu(input, inplace=False):
    return _core.relu(input)


def gelu(input, approximate="none"):
    """GELU: x * Phi(x) (``approximate="none"``) or GPT-2's tanh approximation (``"tanh"``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _core.gelu(input, approximate == "tanh")


def silu(input, inplace=False):
    return _core.silu(input)


def clamp(input, min=None, max=None):
    return _core.clamp(input, min, max)


def eq(input, other):
    return _core.eq(input, _as_tensor(other, input))


def ne(input, other):
    return _core.ne(input, _as_tensor(other, input))


def lt(input, other):
    return _core.lt(input, _as_tensor(other, input))


def le(input, other):
    return _core.le(input, _as_tensor(other, input))


def gt(input, other):
    return _core.gt(input, _as_tensor(other, input))


def ge(input, other):
    return _core.ge(input, _as_tensor(other, input))


def where(condition, input, other):
    """``input`` where ``condition`` is true, else ``other`` (either or both may be Python scalars)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two scalars: float32 or int64
        is_float = isinstance(input, builtins.float) or isinstance(other, builtins.float)
        input = _core.full([], builtins.float(input), _core.dtype.float32 if is_float else _core.dtype.int64,
                           condition.device)
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        input = _as_tensor(input, other)
    if not isinstance(other, Tensor):
        other = _as_tensor(other, input)
    return _core.where(condition, input, other)


def masked_fill(input, mask, value):
    return _core.masked_fill(input, mask, builtins.float(value))


# ---- reductions ----
def sum(input, dim=None, keepdim=False):  # noqa: A001
    return _core.sum(input, _dims(dim), keepdim)


def mean(input, dim=None, keepdim=False):
    return _core.mean(input, _dims(dim), keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as ``torch.var``."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return _core.var(input, _dims(dim), builtins.float(correction), keepdim)


def max(input, dim=None, keepdim=False):  # noqa: A001
    """``max(x)`` -> 0-d; ``max(x, dim)`` -> (values, indices); ``max(x, y)`` -> elementwise maximum."""
    if isinstance(dim, Tensor):
        return _core.maximum(input, dim)
    if dim is None:
        return _core.max_all(input)
    return _MaxResult(*_core.max_dim(input, builtins.int(dim), keepdim))


def min(input, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        return _core.minimum(input, dim)
    if dim is None:
        return _core.min_all(input)
    return _MinResult(*_core.min_dim(input, builtins.int(dim), keepdim))


def argmax(input, dim=None, keepdim=False):
    return _core.argmax(input, dim, keepdim)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    return _TopkResult(*_core.topk(input, builtins.int(k), dim, largest, sorted))


# ---- normalization ----
def softmax(input, dim, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _core.softmax(input, dim)


def log_softmax(input, dim, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _core.log_softmax(input, dim)


def _normalized_shape(shape):
    return [builtins.int(shape)] if isinstance(shape, builtins.int) else [builtins.int(s) for s in shape]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return _core.layer_norm(input, _normalized_shape(normalized_shape), weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _core.rms_norm(input, _normalized_shape(normalized_shape), weight, eps)


# ---- indexing and joining ----
def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (V, C) for the ids in ``input`` -> (*input.shape, C)."""
    return _core.embedding(input, weight, padding_idx)


index_select = _core.index_select


def cat(tensors, dim=0):
    return _core.cat(list(tensors), dim)


concat = cat


def stack(tensors, dim=0):
    return _core.stack(list(tensors), dim)


def split(tensor, split_size_or_sections, dim=0):
    if isinstance(split_size_or_sections, builtins.int):
        return tuple(_core.split(tensor, split_size_or_sections, dim))
    return tuple(_core.split_sizes(tensor, list(split_size_or_sections), dim))


def chunk(input, chunks, dim=0):
    return tuple(_core.chunk(input, chunks, dim))


# ---- losses and regularization ----
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy from logits, fused with log_softmax. ``input``: (N, C) or (C) or (N, C, d1, ...)."""
    if weight is not None:
        raise ValueError("cross_entropy: per-class weights are not supported; pass weight=None")
    return _core.cross_entropy(input, target, ignore_index, label_smoothing, reduction)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    return _core.dropout(input, p, training, generator)


# ---- products and attention ----
matmul = _core.matmul
bmm = _core.bmm


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: weight is (out_features, in_features), as in PyTorch."""
    return _core.linear(input, weight, bias)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False, generator=None):
    """softmax(q kᵀ · scale + mask) v, fused: the (Tq, Tk) score matrix is never stored.

    q: (B, Hq, Tq, D); k: (B, Hkv, Tk, D); v: (B, Hkv, Tk, Dv). Key/value heads may be fewer than query
    heads (grouped-query attention) whether or not ``enable_gqa`` is passed. ``attn_mask``: bool (True =
    attend) or float (added to the scores), broadcastable to (B, Hq, Tq, Tk).
    """
    return _core.scaled_dot_product_attention(query, key, value, attn_mask, is_causal, scale, builtins.float(dropout_p),
                                              generator)

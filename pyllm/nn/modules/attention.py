"""Multi-head attention: softmax(q kᵀ / sqrt(d_k) + mask) v in several heads side by side.

``attention`` is the part every variant shares (masks, causal alignment with a KV cache, the fused kernel);
``MultiHeadAttention`` adds the q/k/v/o projections (Llama's and BART's names: ``q_proj``, ``k_proj``,
``v_proj``, ``o_proj``), grouped-query heads, RoPE and the cache. GPT-2's fused ``c_attn`` lives in
pyllm/models/gpt.py and calls the same ``attention``.

Mask conventions follow ``torch.nn.MultiheadAttention``: a boolean ``attn_mask`` is True where attention is
NOT allowed, a float one is added to the scores; ``key_padding_mask`` (B, Tk) is True at padding keys.
"""

from ..._creation import arange
from .. import functional as F
from .linear import Linear
from .module import Module


def split_heads(x, n_heads):
    """(B, T, n_heads * hs) -> (B, n_heads, T, hs)."""
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)


def merge_heads(y):
    """(B, n_heads, T, hs) -> (B, T, n_heads * hs): the heads' outputs side by side."""
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)


def _attn_mask_4d(attn_mask, B, H, Tq, Tk):
    """torch's attn_mask shapes (Tq, Tk), (B * H, Tq, Tk) or a 4-D (B|1, H|1, Tq, Tk) -> 4-D."""
    shape = tuple(attn_mask.shape)
    if attn_mask.ndim == 2 and shape == (Tq, Tk):
        return attn_mask
    if attn_mask.ndim == 3 and shape == (B * H, Tq, Tk):
        return attn_mask.view(B, H, Tq, Tk)
    if attn_mask.ndim == 4 and shape[0] in (1, B) and shape[1] in (1, H) and shape[2:] == (Tq, Tk):
        return attn_mask
    raise ValueError(f"attention: attn_mask of shape {shape} does not fit {Tq} queries and {Tk} keys "
                     f"(expected ({Tq}, {Tk}), ({B * H}, {Tq}, {Tk}) or ({B}, {H}, {Tq}, {Tk}))")


def _both(a, b):
    """Logical and of two boolean masks (broadcasting); None stands for "everything allowed"."""
    return b if a is None else a if b is None else F.where(a, b, False)


def attention(q, k, v, attn_mask=None, key_padding_mask=None, is_causal=False, dropout_p=0.0):
    """q (B, H, Tq, D), k and v (B, Hkv, Tk, D) with H a multiple of Hkv -> (B, H, Tq, D).

    ``is_causal``: query i sits at position Tk - Tq + i and sees keys up to there, i.e. the causal mask is
    aligned to the bottom-right. With Tq == Tk that is the usual lower triangle; with a KV cache (Tq new
    tokens after Tk - Tq cached ones) it is what decoding needs. (``F.scaled_dot_product_attention``
    aligns to the top-left, as PyTorch does, which is only right when Tq == Tk.)

    >>> import pyllm
    >>> q, k = pyllm.randn(1, 2, 1, 4), pyllm.randn(1, 2, 3, 4)
    >>> attention(q, k, k, is_causal=True).shape      # one new token attends to all 3 keys
    (1, 2, 1, 4)
    """
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"attention: expected q, k, v of shape (B, H, T, D), got {tuple(q.shape)}, "
                         f"{tuple(k.shape)}, {tuple(v.shape)}")
    B, H, Tq, _ = q.shape
    Tk = k.shape[2]
    if is_causal and attn_mask is None and key_padding_mask is None and Tq == Tk:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)  # fused fast path
    allowed, additive = None, None  # allowed: bool, True = attend; additive: float scores offset
    if is_causal:
        if Tq > Tk:
            raise ValueError(f"attention: is_causal with more queries ({Tq}) than keys ({Tk})")
        allowed = arange(Tk).view(1, Tk) <= arange(Tq).view(Tq, 1) + (Tk - Tq)     # (Tq, Tk)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (B, Tk) or key_padding_mask.dtype.is_floating_point:
            raise ValueError(f"attention: key_padding_mask must be a bool (B, Tk) = ({B}, {Tk}) tensor, got "
                             f"{key_padding_mask.dtype} of shape {tuple(key_padding_mask.shape)}")
        allowed = _both(allowed, key_padding_mask.logical_not().view(B, 1, 1, Tk))  # (B, 1, 1, Tk)
    if attn_mask is not None:
        attn_mask = _attn_mask_4d(attn_mask, B, H, Tq, Tk)
        if attn_mask.dtype.is_floating_point:
            additive = attn_mask
        else:
            allowed = _both(allowed, attn_mask.logical_not())
    if additive is not None and allowed is not None:
        mask = F.where(allowed, additive, float("-inf"))
    else:
        mask = additive if additive is not None else allowed
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


class MultiHeadAttention(Module):
    """Self-attention (``mha(x)``) or cross-attention (``mha(x, context)``) with ``num_heads`` query heads
    and ``num_kv_heads`` key/value heads (fewer = grouped-query attention, each shared by
    num_heads / num_kv_heads query heads; default: as many as query heads).

    ``rotary``: a ``RotaryEmbedding`` applied to q and k (self-attention only); ``position_ids`` int (B, T):
    the positions it rotates x's tokens by (default: 0 .. T-1, after the cached ones). ``dropout``: on the
    attention weights, in training mode. ``kv_cache``: a ``KVCache``; new keys and values are appended to it,
    the new tokens take the positions after the cached ones, and for cross-attention the projected context
    is computed on the first call and reused after.

    >>> import pyllm
    >>> mha = MultiHeadAttention(8, num_heads=4, num_kv_heads=2)
    >>> mha(pyllm.randn(2, 5, 8), is_causal=True).shape
    (2, 5, 8)
    """

    def __init__(self, embed_dim, num_heads, num_kv_heads=None, kdim=None, bias=True, dropout=0.0,
                 rotary=None, head_dim=None):
        super().__init__()
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if head_dim is None and embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        if num_kv_heads < 1 or num_heads % num_kv_heads:
            raise ValueError(f"MultiHeadAttention: num_heads {num_heads} is not a multiple of num_kv_heads "
                             f"{num_kv_heads}")
        self.embed_dim, self.num_heads, self.num_kv_heads = embed_dim, num_heads, num_kv_heads
        # head_dim: embed_dim / num_heads unless given (some Llama-family models use wider or narrower heads)
        self.head_dim = embed_dim // num_heads if head_dim is None else int(head_dim)
        self.kdim = embed_dim if kdim is None else kdim
        self.dropout = float(dropout)
        self.q_proj = Linear(embed_dim, num_heads * self.head_dim, bias)
        self.k_proj = Linear(self.kdim, num_kv_heads * self.head_dim, bias)
        self.v_proj = Linear(self.kdim, num_kv_heads * self.head_dim, bias)
        self.o_proj = Linear(num_heads * self.head_dim, embed_dim, bias)
        self.rotary = rotary
        if rotary is not None and rotary.head_dim != self.head_dim:
            raise ValueError(f"MultiHeadAttention: rotary head_dim {rotary.head_dim} != head_dim {self.head_dim}")

    def forward(self, x, context=None, attn_mask=None, key_padding_mask=None, is_causal=False, kv_cache=None,
                position_ids=None):
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiHeadAttention: expected x of shape (B, T, {self.embed_dim}), got "
                             f"{tuple(x.shape)}")
        if context is not None:
            if context.ndim != 3 or context.shape[0] != x.shape[0] or context.shape[-1] != self.kdim:
                raise ValueError(f"MultiHeadAttention: expected context of shape ({x.shape[0]}, T, {self.kdim}), "
                                 f"got {tuple(context.shape)}")
            if self.rotary is not None:
                raise ValueError("MultiHeadAttention: rotary embeddings apply to self-attention only")
        q = split_heads(self.q_proj(x), self.num_heads)                            # (B, T, C) -> (B, nh, T, hs)
        if context is not None and kv_cache is not None and kv_cache.seq_len > 0:
            k, v = kv_cache.key, kv_cache.value                                    # the encoder's, cached
        else:
            source = x if context is None else context
            k = split_heads(self.k_proj(source), self.num_kv_heads)                # (B, S, C') -> (B, nkv, S, hs)
            v = split_heads(self.v_proj(source), self.num_kv_heads)
            if self.rotary is not None:
                start = kv_cache.seq_len if kv_cache is not None else 0
                q, k = self.rotary(q, start, position_ids), self.rotary(k, start, position_ids)
            if kv_cache is not None:
                k, v = kv_cache.update(k, v)                                       # (B, nkv, past + S, hs)
        y = attention(q, k, v, attn_mask, key_padding_mask, is_causal, self.dropout if self.training else 0.0)
        return self.o_proj(merge_heads(y))                                         # (B, nh, T, hs) -> (B, T, C)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, "
                f"dropout={self.dropout}")

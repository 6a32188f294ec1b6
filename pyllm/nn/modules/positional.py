"""Position information for attention, which by itself ignores token order.

- ``SinusoidalPositionalEncoding``: "Attention Is All You Need", fixed sines and cosines added to the token
  embeddings. (A learned one is just an ``Embedding`` over positions, GPT-2's ``wpe``.)
- ``RotaryEmbedding``: RoPE (Su et al.), as Llama and Hugging Face's ``LlamaRotaryEmbedding``: instead of adding
  anything, q and k are rotated by an angle proportional to their position, so q·k depends on the distance
  between the two tokens. The "rotate half" convention pairs feature i with feature i + d/2, as HF does, so
  HF Llama weights work unchanged. ``scaling`` stretches RoPE to longer contexts as HF's ``rope_scaling``:
  "linear" (Kaiokendev: every frequency divided by ``factor``) and "llama3" (Llama 3.1: low frequencies
  divided by ``factor``, high ones kept, a smooth blend between).
"""
import math

import numpy as np

from ... import _core
from ..._creation import arange, tensor
from .. import functional as F
from .module import Module


class SinusoidalPositionalEncoding(Module):
    """pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(pos / 10000^(2i/d)); called with positions
    like an embedding, so it can stand where a learned ``wpe`` would. ``interleaved=False`` puts all the sines
    first and the cosines after them (pe[pos, i] = sin, pe[pos, d/2 + i] = cos), the layout of fairseq,
    Marian and Hugging Face's MarianSinusoidalPositionalEmbedding; the same numbers, permuted.

    >>> import pyllm
    >>> pe = SinusoidalPositionalEncoding(4, max_len=16)
    >>> [round(v, 4) for v in pe(pyllm.tensor([1]))[0].tolist()]
    [0.8415, 0.5403, 0.01, 0.9999]
    """

    def __init__(self, d_model, max_len=5000, base=10000.0, interleaved=True):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"SinusoidalPositionalEncoding: d_model must be even (sine/cosine pairs), got {d_model}")
        self.d_model, self.max_len, self.interleaved = int(d_model), int(max_len), bool(interleaved)
        pos = np.arange(self.max_len, dtype=np.float64)[:, None]                    # (max_len, 1)
        inv_freq = base ** (-np.arange(0, self.d_model, 2, dtype=np.float64) / self.d_model)  # (d/2,)
        pe = np.empty((self.max_len, self.d_model))
        sin_cols, cos_cols = (slice(0, None, 2), slice(1, None, 2)) if self.interleaved else \
            (slice(0, self.d_model // 2), slice(self.d_model // 2, None))
        pe[:, sin_cols], pe[:, cos_cols] = np.sin(pos * inv_freq), np.cos(pos * inv_freq)
        # Not persistent: a function of the config, so checkpoints stay free of it.
        self.register_buffer("pe", tensor(pe.astype(np.float32)), persistent=False)

    def forward(self, positions):
        """positions: int64 ids of any shape -> (*positions.shape, d_model)."""
        return F.embedding(positions, self.pe)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, interleaved={self.interleaved}"


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) on the two halves of the last dim: a 90° turn of each pair (x_i, x_{i+d/2})."""
    x1, x2 = x.chunk(2, dim=-1)                                                     # (..., d) -> 2 x (..., d/2)
    return F.cat([-x2, x1], dim=-1)


class RotaryEmbedding(Module):
    """RoPE for heads of size ``head_dim``: ``rope(x, start_pos)`` rotates x (B, H, T, head_dim), whose
    tokens sit at positions start_pos .. start_pos + T - 1 (start_pos > 0 when earlier tokens are in a KV
    cache); ``rope(x, position_ids=pos)`` takes each row's own positions, pos int (B, T) (left-padded batches,
    where a row's first real token is position 0 wherever it sits). Angles are pos * theta^(-2i/head_dim),
    computed in float32 as HF does.

    >>> import pyllm
    >>> rope = RotaryEmbedding(4)
    >>> q = pyllm.randn(1, 1, 3, 4)
    >>> bool((rope(q)[..., 0, :] == q[..., 0, :]).all())   # position 0: no rotation
    True
    """

    def __init__(self, head_dim, rope_theta=10000.0, scaling=None):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RotaryEmbedding: head_dim must be even (features rotate in pairs), got {head_dim}")
        self.head_dim, self.rope_theta = int(head_dim), float(rope_theta)
        self.scaling = None if scaling is None else dict(scaling)
        inv_freq = 1.0 / (self.rope_theta ** (np.arange(0, self.head_dim, 2, dtype=np.int64).astype(np.float32)
                                              / self.head_dim))                    # (head_dim/2,)
        inv_freq = scale_rope_frequencies(inv_freq, self.scaling)
        self.register_buffer("inv_freq", tensor(inv_freq.astype(np.float32)), persistent=False)

    def cos_sin(self, start_pos, length, dtype):
        """cos and sin of the angles for positions start_pos .. start_pos+length-1: each (length, head_dim)."""
        return self.cos_sin_at(arange(start_pos, start_pos + length, dtype=_core.dtype.float32), dtype)

    def cos_sin_at(self, positions, dtype):
        """cos and sin of the angles for ``positions`` (..., T): each (..., T, head_dim)."""
        pos = positions.float()
        freqs = pos.view(*pos.shape, 1) * self.inv_freq.float().view(1, -1)        # (..., T, head_dim/2)
        emb = F.cat([freqs, freqs], dim=-1)                                         # (..., T, head_dim): both halves
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(self, x, start_pos=0, position_ids=None):
        if x.ndim < 2 or x.shape[-1] != self.head_dim:
            raise ValueError(f"RotaryEmbedding: expected (..., T, {self.head_dim}), got shape {tuple(x.shape)}")
        if position_ids is None:
            cos, sin = self.cos_sin(int(start_pos), x.shape[-2], x.dtype)          # (T, head_dim)
        else:
            if x.ndim != 4 or tuple(position_ids.shape) != (x.shape[0], x.shape[2]) \
                    or position_ids.dtype.is_floating_point:
                raise ValueError(f"RotaryEmbedding: position_ids must be integer (B, T) for x of shape (B, H, T, "
                                 f"{self.head_dim}), got {position_ids.dtype} of shape {tuple(position_ids.shape)} "
                                 f"for x of shape {tuple(x.shape)}")
            B, T = position_ids.shape
            cos, sin = (t.view(B, 1, T, self.head_dim) for t in self.cos_sin_at(position_ids, x.dtype))  # (B, 1, T, hd)
        return x * cos + rotate_half(x) * sin

    def extra_repr(self):
        return f"head_dim={self.head_dim}, rope_theta={self.rope_theta}, scaling={self.scaling}"


ROPE_SCALINGS = ("default", "linear", "llama3")


def scale_rope_frequencies(inv_freq, scaling):
    """``inv_freq`` (float32, (head_dim/2,)) adjusted by a ``rope_scaling`` dict as HF's config holds it
    ({"rope_type": "llama3", "factor": 8.0, ...}; older files say "type"), in float32 as HF computes it.

    >>> scale_rope_frequencies(np.array([1.0, 0.5], np.float32), {"rope_type": "linear", "factor": 2.0}).tolist()
    [0.5, 0.25]
    """
    if scaling is None:
        return inv_freq
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind not in ROPE_SCALINGS:
        raise ValueError(f"RotaryEmbedding: rope_scaling type {kind!r} is not supported; supported: "
                         f"{', '.join(ROPE_SCALINGS)}")
    if kind == "default":
        return inv_freq
    keys = {"linear": ("factor",),
            "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}[kind]
    missing = [k for k in keys if k not in scaling]
    if missing:
        raise ValueError(f"RotaryEmbedding: rope_scaling {scaling} lacks {', '.join(missing)}")
    factor = np.float32(scaling["factor"])
    if kind == "linear":
        return (inv_freq / factor).astype(np.float32)
    old_context = float(scaling["original_max_position_embeddings"])
    low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
    wavelen = np.float32(2 * math.pi) / inv_freq                                   # (head_dim/2,)
    # Wavelengths longer than the pre-training context slow down by `factor`; shorter than
    # old_context / high_freq_factor stay; in between, a linear blend in old_context / wavelen.
    scaled = np.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old_context / high) & ~(wavelen > old_context / low)
    return np.where(medium, blended, scaled).astype(np.float32)

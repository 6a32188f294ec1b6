"""``KVCache``: the keys and values one attention layer has already computed, so that generating the next
token costs one new query against the cached keys instead of recomputing the whole prefix."""
from .. import functional as F


class KVCache:
    """Keys and values of one attention layer, (B, n_kv_heads, T, head_dim) each, grown along T.

    A model takes one cache per layer (``[KVCache() for _ in range(n_layer)]``); its length is the position
    of the next token. For cross-attention the cache holds the projected encoder output, filled once.

    >>> import pyllm
    >>> cache = KVCache()
    >>> k, v = cache.update(pyllm.randn(1, 2, 3, 4), pyllm.randn(1, 2, 3, 4))
    >>> k, v = cache.update(pyllm.randn(1, 2, 1, 4), pyllm.randn(1, 2, 1, 4))
    >>> cache.seq_len, tuple(k.shape)
    (4, (1, 2, 4, 4))
    """

    def __init__(self):
        self.key = None
        self.value = None

    @property
    def seq_len(self):
        return 0 if self.key is None else self.key.shape[2]

    def update(self, key, value):
        """Appends key and value (B, H, T_new, D) and returns all keys and values so far (B, H, T, D)."""
        if self.key is None:
            self.key, self.value = key, value
        else:
            if key.shape[:2] != self.key.shape[:2] or key.shape[3] != self.key.shape[3]:
                raise ValueError(f"KVCache: new keys of shape {tuple(key.shape)} do not continue cached keys of "
                                 f"shape {tuple(self.key.shape)} (batch, heads and head size must match)")
            self.key = F.cat([self.key, key], dim=2)                      # (B, H, T + T_new, D)
            self.value = F.cat([self.value, value], dim=2)
        return self.key, self.value

    def reorder(self, index):
        """Keeps batch rows ``index`` (int64 (B',)): in beam search each surviving beam continues its parent's
        cache, so row i becomes the old row index[i]."""
        if self.key is not None:
            self.key, self.value = self.key[index], self.value[index]                # (B', H, T, D)

    def reset(self):
        self.key = self.value = None

"""Padded, length-bucketed batches of sentence pairs for sequence-to-sequence training (translation).

Pairs of similar lengths go in the same batch, so little of each batch is padding. A batch is five tensors:

    src               int64 (B, S)   source ids, padded with pad_id
    tgt_in            int64 (B, T)   bos_id + target ids (what the decoder reads), padded with pad_id
    labels            int64 (B, T)   target ids + eos_id (what it must predict), -100 at padding (ignore_index)
    src_padding_mask  bool  (B, S)   True at padding, as torch's key_padding_mask (attend where it is False)
    tgt_padding_mask  bool  (B, T)   True at padding of tgt_in

>>> data = PairDataset([[5, 6, 7], [8]], [[9], [10, 11]], pad_id=0, bos_id=1, eos_id=2, batch_size=2)
>>> b = next(data.batches())
>>> b.src.tolist(), b.tgt_in.tolist(), b.labels.tolist()
([[8, 0, 0], [5, 6, 7]], [[1, 10, 11], [1, 9, 0]], [[10, 11, 2], [9, 2, -100]])
"""
from collections import namedtuple

import numpy as np

from .. import _core

IGNORE_INDEX = -100
PairBatch = namedtuple("PairBatch", ["src", "tgt_in", "labels", "src_padding_mask", "tgt_padding_mask"])


class PairDataset:
    """``src[i]`` translates to ``tgt[i]`` (lists of id lists, e.g. from a tokenizer's encode_batch).

    Batches hold at most ``batch_size`` pairs and, if ``max_tokens`` is given, at most that many padded
    positions (B * max(S, T)). Pairs whose source or target (with bos/eos) is longer than ``max_len`` are left
    out (counted in ``dropped``). Pairs are grouped by sorting on (source length, target length), ties broken
    by a permutation drawn from ``seed``: the grouping is a function of the data and the seed alone."""

    def __init__(self, src, tgt, pad_id, bos_id, eos_id, batch_size=32, max_tokens=None, max_len=None, seed=0):
        if len(src) != len(tgt):
            raise ValueError(f"PairDataset: {len(src)} source sentences but {len(tgt)} targets")
        if batch_size < 1 or (max_tokens is not None and max_tokens < 1):
            raise ValueError(f"PairDataset: batch_size and max_tokens must be positive, got {batch_size}, "
                             f"{max_tokens}")
        self.pad_id, self.bos_id, self.eos_id = int(pad_id), int(bos_id), int(eos_id)
        self.src = [np.asarray(s, dtype=np.int64).reshape(-1) for s in src]
        self.tgt = [np.asarray(t, dtype=np.int64).reshape(-1) for t in tgt]
        for i, (s, t) in enumerate(zip(self.src, self.tgt)):
            if s.size == 0 or t.size == 0:
                raise ValueError(f"PairDataset: pair {i} has an empty {'source' if s.size == 0 else 'target'}; "
                                 "drop empty sentences first")
        src_len = np.array([len(s) for s in self.src], dtype=np.int64)
        tgt_len = np.array([len(t) + 1 for t in self.tgt], dtype=np.int64)  # + bos (tgt_in) or eos (labels)
        keep = np.ones(len(self.src), dtype=bool) if max_len is None else (src_len <= max_len) & (tgt_len <= max_len)
        self.dropped = int((~keep).sum())
        if not keep.any():
            raise ValueError(f"PairDataset: no pairs{'' if max_len is None else f' of at most {max_len} tokens'}")
        if max_tokens is not None and max(src_len[keep].max(), tgt_len[keep].max()) > max_tokens:
            raise ValueError(f"PairDataset: a pair of {max(src_len[keep].max(), tgt_len[keep].max())} tokens does "
                             f"not fit in max_tokens={max_tokens}")
        order = np.random.default_rng(seed).permutation(np.flatnonzero(keep))
        order = order[np.lexsort((tgt_len[order], src_len[order]))]  # by source length, then target length
        self._batches = []
        start = 0
        while start < len(order):
            stop, longest = start, 0
            while stop < len(order) and stop - start < batch_size:
                i = order[stop]
                longest_with_i = max(longest, src_len[i], tgt_len[i])
                if max_tokens is not None and longest_with_i * (stop - start + 1) > max_tokens:
                    break
                longest, stop = longest_with_i, stop + 1
            self._batches.append(order[start:stop])
            start = stop

    def __len__(self):
        """The number of batches."""
        return len(self._batches)

    def batches(self, seed=None):
        """Every batch once: in order of length, or, with ``seed``, in an order shuffled by it (a new seed per
        epoch gives a new order, the same seed the same one)."""
        order = range(len(self._batches)) if seed is None else np.random.default_rng(seed).permutation(len(self))
        for b in order:
            yield self.collate(self._batches[b])

    def get_batch(self, rng):
        """One batch drawn uniformly at random with ``rng`` (a NumPy Generator), for step-based training."""
        return self.collate(self._batches[int(rng.integers(len(self._batches)))])

    def collate(self, indices):
        """The PairBatch of the pairs ``indices``."""
        B = len(indices)
        S = max(len(self.src[i]) for i in indices)
        T = max(len(self.tgt[i]) + 1 for i in indices)
        src = np.full((B, S), self.pad_id, dtype=np.int64)
        tgt_in = np.full((B, T), self.pad_id, dtype=np.int64)
        labels = np.full((B, T), IGNORE_INDEX, dtype=np.int64)
        for row, i in enumerate(indices):
            s, t = self.src[i], self.tgt[i]
            src[row, :len(s)] = s
            tgt_in[row, 0] = self.bos_id
            tgt_in[row, 1:len(t) + 1] = t
            labels[row, :len(t)] = t
            labels[row, len(t)] = self.eos_id
        src_pad = np.arange(S) >= np.array([len(self.src[i]) for i in indices])[:, None]      # (B, S)
        tgt_pad = np.arange(T) >= np.array([len(self.tgt[i]) + 1 for i in indices])[:, None]  # (B, T)
        return PairBatch(*(_core.from_numpy(a) for a in (src, tgt_in, labels, src_pad, tgt_pad)))

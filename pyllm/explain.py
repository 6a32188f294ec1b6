"""Multi-head attention worked through by hand: every number between q, k, v and the output, printed.

The seed example is the sentence "The quick brown fox jumps over the lazy dog" with model width d = 4, h = 2
heads and d_k = d_v = d / h = 2. Head 1's vectors follow the example's rule: for the first word ("The")
q = [0.1, 0.2], k = [0.3, 0.4], v = [0.5, 0.6], and each next word adds 0.6 to every component, so word i
(from 0) has q = [0.1, 0.2] + 0.6·i, and so on.

The example gives one set of vectors; head 2 takes the same vectors counted from the end of the sentence
(word i gets head 1's vectors of word T-1-i). Why: with all components positive and growing, q·k grows with
the key's position in head 1, so every word attends most to the *last* word (with a causal mask: to itself,
a "recent token" head); in head 2 keys shrink along the sentence, so every word attends most to the *first*
word (with or without the mask: a "first token" head, like the attention sinks of trained models). Two heads
looking at opposite ends of the sentence show why several heads are worth their cost.

Per head: scores = q·kᵀ / sqrt(d_k) (row = the query's word, column = the key's word; with ``causal`` the
entries above the diagonal are -inf, a word seeing only itself and earlier words), weights = softmax of each
row, output = weights · v. The heads' outputs are concatenated, (T, h·d_v) = (T, 4), and multiplied by W_o:
output = concat · W_oᵀ. In the example W_o is the 4x4 identity, so the final output equals the concatenation
(a trained model learns W_o; pass ``w_o`` to use one).

>>> report = explain_attention(*seed_example())
>>> [round(float(w), 4) for w in report.weights[0][0][-2:]]     # "The" attends most to "dog" in head 1
[0.1543, 0.1753]
"""
import math
import os
from dataclasses import dataclass, field

import numpy as np

from . import _core
from . import plot
from .nn import functional as F

SENTENCE = "The quick brown fox jumps over the lazy dog"
Q0, K0, V0, STEP = (0.1, 0.2), (0.3, 0.4), (0.5, 0.6), 0.6


def seed_example(sentence=SENTENCE):
    """(q, k, v, tokens) of the worked example for ``sentence`` (split on whitespace): q, k, v are float64
    arrays of shape (2, T, 2), head 1 by the example's rule, head 2 the same vectors in reverse word order."""
    tokens = sentence.split()
    if not tokens:
        raise ValueError("seed_example: the sentence has no words")
    steps = STEP * np.arange(len(tokens), dtype=np.float64)[:, None]  # (T, 1)
    heads = []
    for base in (Q0, K0, V0):
        head1 = np.asarray(base, dtype=np.float64) + steps  # (T, 2)
        heads.append(np.stack([head1, head1[::-1]]))  # (2, T, 2): head 2 counts from the last word
    return heads[0], heads[1], heads[2], tokens


@dataclass
class AttentionReport:
    """Every intermediate of multi-head attention as float64 NumPy arrays: per head ``scores``, ``weights``
    (nh, T, T) and ``outputs`` (nh, T, d_v); ``concat`` (T, nh·d_v), ``w_o`` and ``output`` (T, d_model)."""

    tokens: list
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    weights: np.ndarray
    outputs: np.ndarray
    concat: np.ndarray
    w_o: np.ndarray
    output: np.ndarray
    causal: bool
    w_o_is_identity: bool = field(default=False)

    def __str__(self):
        nh, T, d_k = self.q.shape
        mask = ", causal mask: -inf above the diagonal" if self.causal else ""
        lines = [f"Multi-head attention over {T} tokens: h = {nh} heads, d_k = {d_k}, d_v = {self.v.shape[2]}, "
                 f"d_model = {self.w_o.shape[0]}", ""]
        for h in range(nh):
            lines += [f"=== head {h + 1} ===", "q, k, v per token:"]
            width = max(len(t) for t in self.tokens)
            for t, token in enumerate(self.tokens):
                lines.append(f"  {token:<{width}}  q = {_vector(self.q[h, t])}  k = {_vector(self.k[h, t])}  "
                             f"v = {_vector(self.v[h, t])}")
            lines += ["", f"scores = q.k^T / sqrt({d_k})  (row: query token, column: key token{mask}):",
                      _table(self.scores[h], self.tokens, self.tokens), "",
                      "weights = softmax(scores) along each row (each row sums to 1):",
                      _table(self.weights[h], self.tokens, self.tokens), "",
                      "output = weights . v:",
                      _table(self.outputs[h], self.tokens, [f"v[{j}]" for j in range(self.v.shape[2])]), ""]
        dv = self.v.shape[2]
        concat_cols = [f"h{h + 1}[{j}]" for h in range(nh) for j in range(dv)]
        lines += [f"=== heads concatenated: (T, h*d_v) = ({T}, {nh * dv}) ===",
                  _table(self.concat, self.tokens, concat_cols), ""]
        if self.w_o_is_identity:
            lines.append(f"W_o = the {self.w_o.shape[0]}x{self.w_o.shape[1]} identity (the example's choice), "
                         "so output = concat:")
        else:
            lines += ["W_o:", _table(self.w_o, [f"out[{i}]" for i in range(self.w_o.shape[0])], concat_cols), "",
                      "output = concat . W_o^T:"]
        lines.append(_table(self.output, self.tokens, [f"out[{i}]" for i in range(self.output.shape[1])]))
        return "\n".join(lines)

    def save_heatmaps(self, out_dir):
        """One PNG of attention weights per head, ``head<N>.png`` in ``out_dir``; returns their paths."""
        paths = []
        for h in range(self.weights.shape[0]):
            path = os.path.join(out_dir, f"head{h + 1}.png")
            title = f"head {h + 1} attention weights" + (" (causal)" if self.causal else "")
            plot.heatmap(path, self.weights[h], self.tokens, self.tokens, title=title, vmin=0.0, vmax=1.0)
            paths.append(path)
        return paths


def _vector(v):
    return "[" + ", ".join(f"{x:.2f}" for x in v) + "]"


def _table(matrix, row_labels, col_labels):
    """A fixed-width table: row labels on the left, column labels (cut to 8 characters) on top."""
    width = max(len(s) for s in row_labels)
    head = " " * (width + 2) + "".join(f"{s[:8]:>9}" for s in col_labels)
    rows = [f"  {label:<{width}}" + "".join(f"{x:>9.4f}" if math.isfinite(x) else f"{'-inf':>9}" for x in row)
            for label, row in zip(row_labels, matrix)]
    return "\n".join([head] + rows)


def _as_float64(x, name):
    array = np.asarray(x.detach() if isinstance(x, _core.Tensor) else x, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"explain_attention: {name} must be (n_heads, T, d), got shape {tuple(array.shape)}")
    return array


def explain_attention(q, k, v, tokens, causal=False, w_o=None):
    """Runs multi-head attention step by step through pyllm's ops (float64) and returns an AttentionReport
    (print it for the whole worked example; ``.save_heatmaps(dir)`` for the PNGs).

    q, k: (n_heads, T, d_k) and v: (n_heads, T, d_v), as pyllm tensors or arrays: for a trained model, the
    per-head projections of one sequence (its (1, nh, T, hs) tensors with the batch dimension dropped).
    tokens: the T token strings. w_o: the output projection, (d_model, n_heads·d_v) in PyTorch's Linear
    layout (output = concat · W_oᵀ); default the identity.
    """
    q, k, v = _as_float64(q, "q"), _as_float64(k, "k"), _as_float64(v, "v")
    nh, T, d_k = q.shape
    if k.shape != q.shape:
        raise ValueError(f"explain_attention: k has shape {k.shape} but q has {q.shape}; they must match")
    if v.shape[:2] != (nh, T):
        raise ValueError(f"explain_attention: v has shape {v.shape}; expected ({nh}, {T}, d_v)")
    tokens = [str(t) for t in tokens]
    if len(tokens) != T:
        raise ValueError(f"explain_attention: {len(tokens)} tokens for sequences of length {T}")
    d_concat = nh * v.shape[2]
    w_o_is_identity = w_o is None
    w_o = np.eye(d_concat) if w_o is None else np.asarray(w_o.detach() if isinstance(w_o, _core.Tensor) else w_o,
                                                          dtype=np.float64)
    if w_o.ndim != 2 or w_o.shape[1] != d_concat:
        raise ValueError(f"explain_attention: w_o has shape {w_o.shape}; expected (d_model, {d_concat})")

    qt, kt, vt = (_core.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v))
    scores = (qt @ kt.mT) * (1.0 / math.sqrt(d_k))  # (nh, T, d_k) @ (nh, d_k, T) -> (nh, T, T)
    if causal:
        above_diagonal = _core.from_numpy(np.triu(np.ones((T, T), dtype=bool), 1))  # (T, T): key after query
        scores = scores.masked_fill(above_diagonal, float("-inf"))
    weights = F.softmax(scores, dim=-1)  # (nh, T, T), each row sums to 1
    outputs = weights @ vt  # (nh, T, T) @ (nh, T, d_v) -> (nh, T, d_v)
    concat = F.cat([outputs[h] for h in range(nh)], dim=-1)  # nh x (T, d_v) -> (T, nh*d_v)
    output = F.linear(concat, _core.from_numpy(np.ascontiguousarray(w_o)))  # (T, nh*d_v) -> (T, d_model)
    return AttentionReport(tokens, q, k, v, np.array(scores), np.array(weights), np.array(outputs),
                           np.array(concat), w_o, np.array(output), causal, w_o_is_identity)


def model_heads(model, ids, layer=-1):
    """What a trained model's attention layer ``layer`` computes for the token ids ``ids``: (q, k, v, w_o)
    with q, k, v of shape (n_heads, T, head_dim), ready for ``explain_attention(q, k, v, tokens, causal=True,
    w_o=w_o)``. GPT (c_attn's fused projection) and Llama (q/k/v_proj; q and k rotated by RoPE as the scores
    see them, grouped key/value heads repeated to one per query head). W_o's bias is left out of the report.
    The projections are recorded with forward hooks during one ordinary forward pass."""
    from .autograd import no_grad
    from .models import GPT, Llama
    from .nn.modules.attention import split_heads

    idx = _core.from_numpy(np.asarray([ids], dtype=np.int64))
    captured = {}

    def record(name):
        return lambda module, args, output: captured.__setitem__(name, output)

    if isinstance(model, GPT):
        attn = model.transformer.h[layer].attn
        hooks = [attn.c_attn.register_forward_hook(record("qkv"))]
    elif isinstance(model, Llama):
        attn = model.model.layers[layer].self_attn
        hooks = [getattr(attn, f"{n}_proj").register_forward_hook(record(n)) for n in "qkv"]
    else:
        raise TypeError(f"model_heads: a GPT or Llama model, got {type(model).__name__}")
    try:
        with no_grad():
            model(idx)
    finally:
        for hook in hooks:
            hook.remove()
    if isinstance(model, GPT):
        q, k, v = (split_heads(t, attn.n_head) for t in captured["qkv"].split(attn.n_embd, dim=2))  # (1, nh, T, hs)
        w_o = attn.c_proj.weight
    else:
        q = split_heads(captured["q"], attn.num_heads)                    # (1, nh, T, hs)
        k, v = (split_heads(captured[n], attn.num_kv_heads) for n in "kv")  # (1, nkv, T, hs)
        q, k = attn.rotary(q, 0), attn.rotary(k, 0)
        group = attn.num_heads // attn.num_kv_heads                       # query heads per key/value head
        k, v = (F.cat([t[:, h // group:h // group + 1] for h in range(attn.num_heads)], dim=1) for t in (k, v))
        w_o = attn.o_proj.weight
    return q[0], k[0], v[0], w_o.detach()

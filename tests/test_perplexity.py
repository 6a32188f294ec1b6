"""pyllm.eval.perplexity against an independent float64 NumPy computation of HF's sliding-window perplexity,
on a small random model built from pyllm's functional ops whose logits depend on the whole context."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.eval import perplexity

V, C = 11, 6


class TinyLM:
    """wte + wpe embeddings, tanh, causal self-attention (one head), a linear head: logits depend on every
    earlier token and on positions. It refuses windows longer than its context, and records the mode calls."""

    def __init__(self, rng, context_length):
        self.context_length = context_length
        self.weights = {"wte": rng.standard_normal((V, C)), "wpe": rng.standard_normal((context_length, C)),
                        "w": rng.standard_normal((C, C)) / np.sqrt(C), "head": rng.standard_normal((V, C)),
                        "bias": rng.standard_normal(V)}
        self.p = {k: pyllm.tensor(v.astype(np.float32)) for k, v in self.weights.items()}
        self.training, self.calls = True, []

    def eval(self):
        self.training = False
        self.calls.append("eval")

    def train(self):
        self.training = True
        self.calls.append("train")

    def __call__(self, ids):
        assert ids.dtype == pyllm.int64 and ids.ndim == 2 and ids.shape[0] == 1
        assert ids.shape[1] <= self.context_length, "window longer than the context"
        assert not pyllm.is_grad_enabled()
        T = ids.shape[1]
        x = F.embedding(ids, self.p["wte"]) + self.p["wpe"][:T]  # (1, T, C)
        h = F.linear(x, self.p["w"]).tanh().view(1, 1, T, C)  # (1, T, C) -> (1, 1, T, C)
        h = F.scaled_dot_product_attention(h, h, h, is_causal=True).view(1, T, C)  # (1, 1, T, C) -> (1, T, C)
        return F.linear(h + x, self.p["head"], self.p["bias"])  # (1, T, V)

    def reference_logits(self, ids):
        """The same model in float64 NumPy: (T, V)."""
        w = {k: v.astype(np.float32).astype(np.float64) for k, v in self.weights.items()}
        T = len(ids)
        x = w["wte"][ids] + w["wpe"][:T]
        h = np.tanh(x @ w["w"].T)
        scores = h @ h.T / np.sqrt(C) + np.triu(np.full((T, T), -np.inf), 1)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        h = (p / p.sum(-1, keepdims=True)) @ h
        return (h + x) @ w["head"].T + w["bias"]


def reference_perplexity(model, ids, L, s):
    """Token i (i >= 1) is scored by the first window start (a multiple of s) with start < i < start + L, with
    the context ids[start:i]; tokens no window start satisfies are not scored."""
    nll, count = 0.0, 0
    for i in range(1, len(ids)):
        start = -(-max(0, i - L + 1) // s) * s  # the smallest multiple of s >= i - L + 1
        if start >= i:
            continue
        logits = model.reference_logits(ids[start:min(start + L, len(ids))])[i - start - 1]
        logp = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
        nll -= logp[ids[i]]
        count += 1
    return np.exp(nll / count)


@pytest.mark.parametrize("n, L, s", [(37, 8, 8), (37, 8, 3), (23, 5, 1), (40, 8, 8), (41, 8, 4), (9, 9, 9),
                                     (2, 2, 1), (30, 7, None)])
def test_matches_independent_sliding_window(rng, n, L, s):
    model = TinyLM(rng, L)
    ids = rng.integers(0, V, size=n)
    ours = perplexity(model, list(ids), L, s)
    assert ours == pytest.approx(reference_perplexity(model, ids, L, s or L), rel=2e-5)
    assert model.calls == ["eval", "train"] and model.training


def test_overlap_changes_the_result(rng):
    """Stride 1 gives every token its full context; stride == context_length does not: different numbers."""
    model = TinyLM(rng, 6)
    ids = rng.integers(0, V, size=25)
    a, b = perplexity(model, ids, 6, 1), perplexity(model, ids, 6, 6)
    assert a == pytest.approx(reference_perplexity(model, ids, 6, 1), rel=2e-5)
    assert b == pytest.approx(reference_perplexity(model, ids, 6, 6), rel=2e-5)
    assert abs(a - b) > 1e-3 * a


@pytest.mark.parametrize("form", ["list", "numpy", "tensor"])
def test_one_window_equals_exp_mean_nll_of_one_forward(rng, form):
    n = 13
    model = TinyLM(rng, 16)
    ids = rng.integers(0, V, size=n)
    token_ids = {"list": ids.tolist(), "numpy": ids.astype(np.int32), "tensor": pyllm.tensor(ids)}[form]
    logits = torch.from_numpy(model.reference_logits(ids))  # (T, V), float64
    expected = torch.exp(torch.nn.functional.cross_entropy(logits[:-1], torch.from_numpy(ids[1:]))).item()
    for stride in (16, 5):  # one window covers everything, whatever the stride
        assert perplexity(model, token_ids, 16, stride) == pytest.approx(expected, rel=2e-5)


def test_accepts_tuple_and_logits_attribute_outputs(rng):
    model = TinyLM(rng, 8)
    ids = rng.integers(0, V, size=20)
    expected = reference_perplexity(model, ids, 8, 4)

    class Output:
        def __init__(self, logits):
            self.logits = logits

    assert perplexity(lambda x: (model(x), None), ids, 8, 4) == pytest.approx(expected, rel=2e-5)
    assert perplexity(lambda x: Output(model(x)), ids, 8, 4) == pytest.approx(expected, rel=2e-5)


def test_errors_name_the_problem(rng):
    model = TinyLM(rng, 8)
    ids = rng.integers(0, V, size=10)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        perplexity(model, ids[:1], 8)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        perplexity(model, [], 8)
    with pytest.raises(ValueError, match="stride 9 > context_length 8"):
        perplexity(model, ids, 8, 9)
    with pytest.raises(ValueError, match="stride must be a positive integer, got 0"):
        perplexity(model, ids, 8, 0)
    with pytest.raises(ValueError, match="stride must be a positive integer, got -2"):
        perplexity(model, ids, 8, -2)
    with pytest.raises(ValueError, match="context_length must be an integer >= 2, got 1"):
        perplexity(model, ids, 1)
    with pytest.raises(ValueError, match=r"must be 1-D \(one sequence\), got shape \(2, 5\)"):
        perplexity(model, ids.reshape(2, 5), 8)
    with pytest.raises(TypeError, match="must be integers, got float64"):
        perplexity(model, ids.astype(np.float64), 8)
    with pytest.raises(TypeError, match="must hold integers"):
        perplexity(model, pyllm.tensor(ids.astype(np.float32)), 8)
    with pytest.raises(ValueError, match=r"logits of shape \(1, 8\) for a window of 8 tokens"):
        perplexity(lambda x: model(x)[:, :, 0], ids, 8)
    with pytest.raises(TypeError, match="returned a NoneType, not a logits tensor"):
        perplexity(lambda x: None, ids, 8)

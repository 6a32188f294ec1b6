"""pyllm.explain: the worked attention example against an independent NumPy computation, the heatmaps it
saves, random per-head inputs with a W_o, the CLI and the error messages."""
import numpy as np
import pytest
import torch

import pyllm

from pyllm.cli import main
from pyllm.explain import SENTENCE, explain_attention, seed_example
from test_plot import decode_png


def numpy_attention(q, k, v, causal, w_o):
    """Multi-head attention written out in NumPy, float64: scores, weights, outputs, concat, output."""
    nh, T, d_k = q.shape
    scores = np.einsum("htd,hsd->hts", q, k) / np.sqrt(d_k)
    if causal:
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    weights = e / e.sum(-1, keepdims=True)
    outputs = np.einsum("hts,hsd->htd", weights, v)
    concat = np.concatenate(list(outputs), axis=-1)
    return scores, weights, outputs, concat, concat @ w_o.T


def test_seed_vectors_follow_the_rule():
    q, k, v, tokens = seed_example()
    assert tokens == SENTENCE.split() and q.shape == k.shape == v.shape == (2, 9, 2)
    for i in range(9):  # head 1: [0.1, 0.2] + 0.6 i etc.; head 2: the same counted from the end
        np.testing.assert_allclose(q[0, i], [0.1 + 0.6 * i, 0.2 + 0.6 * i])
        np.testing.assert_allclose(k[0, i], [0.3 + 0.6 * i, 0.4 + 0.6 * i])
        np.testing.assert_allclose(v[0, i], [0.5 + 0.6 * i, 0.6 + 0.6 * i])
        for a in (q, k, v):
            np.testing.assert_array_equal(a[1, i], a[0, 8 - i])


@pytest.mark.parametrize("causal", [False, True])
def test_seed_example_matches_numpy(causal, tmp_path):
    q, k, v, tokens = seed_example()
    report = explain_attention(q, k, v, tokens, causal=causal)
    expected = numpy_attention(q, k, v, causal, np.eye(4))
    for ours, theirs in zip((report.scores, report.weights, report.outputs, report.concat, report.output), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    # The story the module tells: head 1 attends most to the last visible word, head 2 to the first.
    visible = np.tril(np.ones((9, 9))) if causal else np.ones((9, 9))
    assert list(report.weights[0].argmax(-1)) == [int(np.nonzero(r)[0].max()) for r in visible]
    assert list(report.weights[1].argmax(-1)) == [0] * 9
    text = str(report)
    assert "scores = q.k^T / sqrt(2)" in text and "W_o = the 4x4 identity" in text
    assert f"{report.scores[0, 8, 8]:.4f}" in text and f"{report.weights[1, 8, 0]:.4f}" in text
    assert ("-inf" in text) == causal
    paths = report.save_heatmaps(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["head1.png", "head2.png"]
    for path in paths:
        width, height, _ = decode_png(open(path, "rb").read())
        assert width > 9 * 32 and height > 9 * 32


def test_random_heads_with_w_o_match_numpy_and_torch(rng):
    nh, T, d_k, d_v = 3, 6, 4, 5
    q, k = rng.standard_normal((nh, T, d_k)), rng.standard_normal((nh, T, d_k))
    v, w_o = rng.standard_normal((nh, T, d_v)), rng.standard_normal((7, nh * d_v))
    tokens = [f"t{i}" for i in range(T)]
    report = explain_attention(pyllm.tensor(q), k, v, tokens, causal=True, w_o=pyllm.tensor(w_o))  # float64 tensors
    for ours, theirs in zip((report.scores, report.weights, report.outputs, report.concat, report.output),
                            numpy_attention(q, k, v, True, w_o)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    sdpa = torch.nn.functional.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)),
                                                           is_causal=True)
    np.testing.assert_allclose(report.outputs, sdpa.numpy(), rtol=1e-10, atol=1e-12)
    assert "output = concat . W_o^T" in str(report)


def test_cli_prints_report_and_writes_heatmaps(tmp_path, capsys):
    capsys.readouterr()
    assert main(["explain-attention", "to be or not", "--causal", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    q, k, v, tokens = seed_example("to be or not")
    assert tokens == ["to", "be", "or", "not"]
    report = explain_attention(q, k, v, tokens, causal=True)
    assert out.startswith(str(report))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head1.png", "head2.png"]


def test_errors_name_the_problem(rng):
    q = rng.standard_normal((2, 3, 2))
    with pytest.raises(ValueError, match="2 tokens for sequences of length 3"):
        explain_attention(q, q, q, ["a", "b"])
    with pytest.raises(ValueError, match=r"q must be \(n_heads, T, d\), got shape \(3, 2\)"):
        explain_attention(q[0], q[0], q[0], ["a", "b", "c"])
    with pytest.raises(ValueError, match="k has shape"):
        explain_attention(q, q[:, :2], q, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"w_o has shape \(4, 3\); expected \(d_model, 4\)"):
        explain_attention(q, q, q, ["a", "b", "c"], w_o=np.ones((4, 3)))
    with pytest.raises(ValueError, match="the sentence has no words"):
        seed_example("   ")

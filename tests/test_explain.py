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


@pytest.mark.parametrize("kind", ["gpt", "llama"])
def test_model_heads_reproduce_the_models_attention(kind, rng):
    from pyllm.explain import model_heads
    from pyllm.models import GPT, GPTConfig, Llama, LlamaConfig

    pyllm.manual_seed(int(rng.integers(1 << 30)))
    if kind == "gpt":
        model = GPT(GPTConfig(block_size=16, vocab_size=37, n_layer=2, n_head=3, n_embd=24), verbose=False)
        attn = model.transformer.h[1].attn
        bias = attn.c_proj.bias.detach().numpy()
    else:  # grouped-query heads and RoPE: the report must see the rotated q and k
        model = Llama(LlamaConfig(vocab_size=37, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                                  num_attention_heads=6, num_key_value_heads=2), verbose=False)
        attn = model.model.layers[1].self_attn
        bias = 0.0
    ids = rng.integers(0, 37, size=9).tolist()
    seen = {}
    handle = attn.register_forward_hook(lambda m, args, out: seen.__setitem__("out", out.detach().numpy()[0]))
    q, k, v, w_o = model_heads(model, ids, layer=1)
    handle.remove()
    assert q.shape == k.shape == v.shape == ((3, 9, 8) if kind == "gpt" else (6, 9, 4))
    report = explain_attention(q, k, v, [str(i) for i in ids], causal=True, w_o=w_o)
    # The step-by-step float64 report lands where the model's fused attention did (less W_o's bias).
    np.testing.assert_allclose(report.output, seen["out"] - bias, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="a GPT or Llama model"):
        model_heads(object(), ids)


def test_cli_explains_a_trained_models_heads(tmp_path, capsys):
    (tmp_path / "text.txt").write_text("To be, or not to be, that is the question. " * 200)
    assert main(["train", "--data", str(tmp_path / "text.txt"), "--out-dir", str(tmp_path / "run"), "--max-iters", "2",
                 "--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "8", "--batch-size", "2",
                 "--eval-iters", "1", "--samples", "0", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["explain-attention", "To be", "--model", str(tmp_path / "run"), "--layer", "0",
                 "--out", str(tmp_path / "maps")]) == 0
    out = capsys.readouterr().out
    assert "over 5 tokens: h = 2 heads, d_k = 8" in out and "\u2423" in out  # the space shown as ␣
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["head1.png", "head2.png"]
    assert main(["explain-attention", "To be", "--model", str(tmp_path / "run"), "--layer", "2"]) == 1
    assert "the model has 2 layers" in capsys.readouterr().err

"""`pyllm train`, `pyllm sample`, `pyllm eval` end to end on a slice of Shakespeare with tiny models."""
import json
import math

import numpy as np
import pytest
import torch

import pyllm
from pyllm.cli import main
from pyllm.data import DownloadError, shakespeare
from pyllm.train import read_jsonl
from pyllm.train.lm import load_trained

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "4",
        "--eval-iters", "2", "--log-interval", "1", "--no-progress"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    try:
        text = shakespeare()[:60_000]
    except DownloadError as e:
        pytest.skip(f"the Shakespeare corpus cannot be fetched here: {e}")
    path = tmp_path_factory.mktemp("corpus") / "shakespeare.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def train(out_dir, corpus, *extra):
    return main(["train", "--data", corpus, "--out-dir", str(out_dir), *TINY, *extra])


def losses(out_dir):
    return [(r["kind"], r["step"], r.get("loss"), r.get("val_loss")) for r in read_jsonl(out_dir / "metrics.jsonl")]


def test_train_writes_a_run_and_prints_a_sample(tmp_path, corpus, capsys):
    assert train(tmp_path, corpus, "--max-iters", "8", "--eval-interval", "4", "--sample-tokens", "30") == 0
    out = capsys.readouterr().out
    assert "trained 8 steps" in out and "--- sample 1 ---" in out
    sample = out.split("--- sample 1 ---\n", 1)[1]
    alphabet = set(open(corpus, encoding="utf-8").read())
    assert len(sample.rstrip("\n")) >= 29 and set(sample) <= alphabet | {"\n"}
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [0, 4, 8]
    assert [r["step"] for r in rows if r["kind"] == "train"] == list(range(1, 9))
    assert all(math.isfinite(r["loss"]) for r in rows if r["kind"] == "train")
    assert rows[0]["val_loss"] == pytest.approx(math.log(len(alphabet)), rel=0.1)  # untrained: near uniform
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_exactly(tmp_path, corpus):
    assert train(tmp_path / "whole", corpus, "--max-iters", "8", "--eval-interval", "4", "--samples", "0") == 0
    assert train(tmp_path / "split", corpus, "--max-iters", "4", "--eval-interval", "4", "--lr-decay-iters", "8",
                 "--samples", "0") == 0
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "split"), *TINY, "--max-iters", "8",
                 "--eval-interval", "4", "--samples", "0"]) == 0
    # The whole run decays its LR over 8 steps; so does the split one (--lr-decay-iters 8).
    whole, split = losses(tmp_path / "whole"), losses(tmp_path / "split")
    assert whole == split


def test_loaded_model_equals_the_trained_one_and_sample_is_greedy_argmax(tmp_path, corpus, capsys, rng):
    assert train(tmp_path, corpus, "--max-iters", "3", "--samples", "0") == 0
    model, tokenizer, state = load_trained(str(tmp_path))
    assert state["step"] == 3 and not model.training
    idx = rng.integers(0, tokenizer.vocab_size, size=(2, 16))
    logits, _ = model(pyllm.from_numpy(idx))
    # An independent forward: the checkpoint's weights through torch ops, GPT-2 layout, tanh GELU.
    w = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    x = w["transformer.wte.weight"][torch.from_numpy(idx)] + w["transformer.wpe.weight"][:16]
    ln = lambda t, p: torch.nn.functional.layer_norm(t, (32,), w[p + ".weight"], w[p + ".bias"])  # noqa: E731
    lin = lambda t, p: t @ w[p + ".weight"].T + w[p + ".bias"]  # noqa: E731
    q, k, v = lin(ln(x, "transformer.h.0.ln_1"), "transformer.h.0.attn.c_attn").split(32, dim=2)
    heads = lambda t: t.view(2, 16, 2, 16).transpose(1, 2)  # noqa: E731
    y = torch.nn.functional.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
    x = x + lin(y.transpose(1, 2).reshape(2, 16, 32), "transformer.h.0.attn.c_proj")
    h = torch.nn.functional.gelu(lin(ln(x, "transformer.h.0.ln_2"), "transformer.h.0.mlp.c_fc"), approximate="tanh")
    x = x + lin(h, "transformer.h.0.mlp.c_proj")
    expected = ln(x, "transformer.ln_f") @ w["transformer.wte.weight"].T
    np.testing.assert_allclose(logits.detach().numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)

    capsys.readouterr()
    assert main(["sample", "--model", str(tmp_path), "--prompt", "ROMEO:", "--max-new-tokens", "12",
                 "--greedy"]) == 0
    printed = capsys.readouterr().out
    ids = tokenizer.encode("ROMEO:")
    for _ in range(12):  # greedy decoding by hand: the argmax of the last position, no cache
        last = model(pyllm.tensor([ids[-16:]]))[0].detach().numpy()[0, -1]
        ids.append(int(np.argmax(last)))
    assert printed == tokenizer.decode(ids) + "\n"


def test_eval_perplexity_is_exp_of_the_mean_loss(tmp_path, corpus, capsys):
    assert train(tmp_path, corpus, "--max-iters", "3", "--samples", "0") == 0
    assert main(["eval", "--model", str(tmp_path), "--max-tokens", "161"]) == 0
    printed = capsys.readouterr().out
    model, tokenizer, _ = load_trained(str(tmp_path))
    val = np.fromfile(tmp_path / "data" / "val.bin", dtype=np.uint16)[:161].astype(np.int64)
    nll = []  # disjoint windows of 16 tokens (stride = context): each scores its tokens after its first
    for start in range(0, 160, 16):
        window = torch.from_numpy(val[start:start + 16])
        logits = model(pyllm.from_numpy(window[:-1].numpy()[None]))[0].detach().numpy()[0]
        nll.append(torch.nn.functional.cross_entropy(torch.from_numpy(logits), window[1:], reduction="none"))
    expected = math.exp(torch.cat(nll).double().mean().item())
    assert f"perplexity {expected:.4f}" in printed and "over 161 tokens" in printed


def test_toml_config_flags_override_and_bpe_and_llama(tmp_path, corpus, capsys):
    config = tmp_path / "run.toml"
    config.write_text('tokenizer = "bpe"\nvocab_size = 300\nmodel = "llama"\nn_kv_head = 1\nmax_iters = 50\n'
                      f'data = ["{corpus}"]\n')
    assert main(["train", "--config", str(config), "--max-iters", "2", "--out-dir", str(tmp_path / "run"), *TINY,
                 "--samples", "1", "--sample-tokens", "10"]) == 0
    assert "trained 2 steps" in capsys.readouterr().out  # the flag overrides the file's max_iters
    model, tokenizer, state = load_trained(str(tmp_path / "run"))
    assert type(model).__name__ == "Llama" and model.config.num_key_value_heads == 1
    assert type(tokenizer).__name__ == "BPETokenizer" and tokenizer.vocab_size == 300
    meta = json.loads((tmp_path / "run" / "data" / "meta.json").read_text())
    assert meta["separator_id"] == tokenizer.token_to_id("<|endoftext|>") == 299


def test_errors(tmp_path, corpus, capsys):
    assert main(["train", "--data", str(tmp_path / "missing.txt"), "--out-dir", str(tmp_path), *TINY]) == 1
    assert "no such text file" in capsys.readouterr().err
    (tmp_path / "empty.txt").write_text("  \n")
    assert main(["train", "--data", str(tmp_path / "empty.txt"), "--out-dir", str(tmp_path), *TINY]) == 1
    assert "is empty" in capsys.readouterr().err
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "nothing"), *TINY]) == 1
    assert "cannot resume" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text("n_layers = 3\n")
    assert main(["train", "--config", str(tmp_path / "bad.toml")]) == 1
    assert "unknown options ['n_layers']" in capsys.readouterr().err
    assert main(["train", "--model", "rnn", "--out-dir", str(tmp_path)]) == 1
    assert "model must be one of" in capsys.readouterr().err
    assert main(["sample", "--model", str(tmp_path / "nothing")]) == 1
    assert "not a model: give the run directory" in capsys.readouterr().err


def test_sample_and_eval_take_a_hugging_face_directory(tmp_path, corpus, capsys):
    from pyllm.models import GPT, GPTConfig
    from pyllm.tokenizers import BPETokenizer

    text = open(corpus, encoding="utf-8").read()
    tok = BPETokenizer.train(text, 300, special_tokens=["<|endoftext|>"], show_progress=False)
    model = GPT(GPTConfig(block_size=32, vocab_size=300, n_layer=1, n_head=2, n_embd=16), verbose=False)
    model.save_pretrained(tmp_path / "hf")
    tok.save_pretrained(tmp_path / "hf")
    assert main(["sample", "--model", str(tmp_path / "hf"), "--prompt", "KING", "--max-new-tokens", "6",
                 "--greedy"]) == 0
    ids = model.generate(pyllm.tensor([tok.encode("KING")]), 6, do_sample=False,
                         eos_token_id=tok.token_to_id("<|endoftext|>"))[0].tolist()
    assert capsys.readouterr().out == tok.decode(ids) + "\n"
    (tmp_path / "eval.txt").write_text(text[:3000])
    assert main(["eval", "--model", str(tmp_path / "hf"), "--data", str(tmp_path / "eval.txt")]) == 0
    assert "context 32, stride 32" in capsys.readouterr().out
    assert main(["eval", "--model", str(tmp_path / "hf")]) == 1
    assert "give --data FILE" in capsys.readouterr().err

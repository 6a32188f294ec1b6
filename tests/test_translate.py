"""``pyllm translate`` plumbing on a tiny model trained a few steps on a few Bible verse pairs: the printed BLEU
and chrF are pyllm.eval's scores of the files it writes (checked independently against sacrebleu in
test_bleu.py), the references are the held-out verses, resume continues the run, and --checkpoint translates
given text. The Bible is fetched from Debian's archive; the tests skip, saying why, only if that fails."""
import json
import os
import re

import pytest

from pyllm.cli import main
from pyllm.data import DownloadError
from pyllm.data.corpora import bible_en_es
from pyllm.eval import bleu, chrf

TINY = ["--train-size", "200", "--d-model", "32", "--layers", "1", "--heads", "2", "--ffn-dim", "48",
        "--vocab-size", "420", "--eval-interval", "2", "--eval-iters", "1", "--test-size", "6", "--num-beams", "2",
        "--examples", "2", "--max-new-tokens", "8", "--quiet"]


@pytest.fixture(scope="module")
def splits():
    try:
        return bible_en_es()
    except DownloadError as e:
        pytest.skip(str(e))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def test_train_evaluate_resume_and_translate(tmp_path, capsys, splits):
    out = str(tmp_path / "run")
    assert main(["translate", "--out-dir", out, "--max-iters", "3", *TINY]) == 0
    printed = capsys.readouterr().out
    hyps, refs, srcs = (read(os.path.join(out, f"test.{name}")) for name in ("hyp.es", "ref.es", "en"))
    assert srcs == [en for _, en, _ in splits["test"][:6]] and refs == [es for _, _, es in splits["test"][:6]]
    assert len(hyps) == 6 and all("\n" not in h for h in hyps)
    lines = printed.splitlines()
    bleu_line = next(line for line in lines if line.startswith("BLEU = "))
    assert re.fullmatch(r"BLEU = \d+\.\d\d .*", bleu_line)
    assert bleu_line == str(bleu(hyps, [refs]))
    assert lines[-1] == str(chrf(hyps, [refs]))
    assert f"  ref: {refs[0]}" in lines and f"  hyp: {hyps[1]}" in lines
    assert "trained 3 steps" in printed and "translated 6 held-out test verses (2 beams)" in printed

    # resume: two more steps on top of the checkpoint's three
    assert main(["translate", "--out-dir", out, "--resume", "--max-iters", "5", *TINY]) == 0
    assert "resumed at step 3" in capsys.readouterr().out
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        steps = [json.loads(line)["step"] for line in f if json.loads(line)["kind"] == "eval"]
    assert steps == [0, 2, 3, 4, 5]

    assert main(["translate", "--checkpoint", out, "--num-beams", "3", "--max-new-tokens", "6", "In the beginning", "And God said"]) == 0
    assert len(capsys.readouterr().out.split("\n")) == 3  # two translations, each on its line


def test_errors(tmp_path, capsys):
    assert main(["translate", "some text"]) == 1
    assert "TEXT is translated only with --checkpoint DIR" in capsys.readouterr().err
    assert main(["translate", "--checkpoint", str(tmp_path), "hello"]) == 1
    assert "checkpoint.safetensors does not exist" in capsys.readouterr().err
    assert main(["translate", "--out-dir", str(tmp_path), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err

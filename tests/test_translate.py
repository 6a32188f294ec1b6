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


def test_translate_function_batches_by_length_and_keeps_order(rng):
    """translate() sorts sentences by length into batches; each output must still be its own sentence's, as
    translating it alone gives."""
    import pyllm
    from pyllm.models import Transformer
    from pyllm.tokenizers import BPETokenizer
    from pyllm.translation import SPECIAL_TOKENS, TranslatorConfig, translate

    class ShowIds(BPETokenizer):
        """Decodes to the ids themselves: a random model's byte tokens would all print as U+FFFD."""

        def decode(self, ids, errors="replace"):
            return " ".join(map(str, ids))

    words = ["light", "earth", "water", "day", "night", "God", "said", "and", "the", "was"]
    sentences = [" ".join(rng.choice(words, int(rng.integers(1, 9)))) for _ in range(7)]
    tok = ShowIds.train(iter(sentences * 3), 300, special_tokens=SPECIAL_TOKENS, show_progress=False)
    for _ in range(20):  # a random model often says the same for every sentence: draw one that does not
        pyllm.manual_seed(int(rng.integers(1 << 31)))
        model = Transformer(TranslatorConfig(d_model=16, layers=1, heads=2, ffn_dim=24).model_config(tok),
                            verbose=False)
        together = translate(model, tok, sentences, num_beams=2, batch_size=3, max_new_tokens=5)
        if len(set(together)) > 2:
            break
    assert len(set(together)) > 2
    assert together == [translate(model, tok, [s], num_beams=2, max_new_tokens=5)[0] for s in sentences]
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        translate(model, tok, ["the day", ""])


def test_errors(tmp_path, capsys):
    assert main(["translate", "some text"]) == 1
    assert "TEXT is translated only with --checkpoint DIR" in capsys.readouterr().err
    assert main(["translate", "--checkpoint", str(tmp_path), "hello"]) == 1
    assert "checkpoint.safetensors does not exist" in capsys.readouterr().err
    assert main(["translate", "--out-dir", str(tmp_path), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err

"""pyllm.eval.bleu / chrf against sacrebleu 2.6.0 (corpus_bleu / corpus_chrf with default settings) on random
segments built to hit the 13a tokenizer's rules, on real Bible verses (KJV, Reina-Valera) and on their
corruptions; the CLI; the error messages."""
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from pyllm.cli import main
from pyllm.data import DownloadError, bible
from pyllm.eval import bleu, chrf, tokenize_13a

# Pieces chosen to exercise every tokenizer rule: symbols split always, '.' and ',' kept between digits, '-'
# split after a digit, apostrophes kept, XML escapes undone, "<skipped>" and "-\n" removed, unicode letters,
# digits and whitespace (NBSP, thin space) and non-ASCII punctuation (which 13a does not split).
WORDS = ["the", "The", "cat", "sat", "on", "mat", "dog", "don't", "naïve", "Über", "日本語", "ça", "3.14", "1,000",
         "2,5", "10-20", "x-ray", "e.g.", "U.S.A.", "a.b", ".5", "5.", ",", ".", "...", "-", "--", "'", '"', "&amp;",
         "&lt;tag&gt;", "&quot;", "&amp;lt;", "&", "<skipped>", "(a)", "[b]", "{c}", "$5", "50%", "a/b", "@x", "#1",
         "?", "!", ";", ":", "~", "|", "\\", "^", "_", "`", "«", "»", "—", "…", "１２", "٣", "¿", "a\u00a0b", "\u2009"]
SEPARATORS = ["", " ", " ", " ", "  ", "\t", "\n", "-\n", "\u00a0"]

segment = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=14).map(
    lambda parts: "".join(w + s for w, s in parts))


@st.composite
def corpora(draw):
    """(hypotheses, reference streams): 1-6 segments, 1-4 references each, empty segments included."""
    n = draw(st.integers(1, 6))
    hyps = draw(st.lists(segment, min_size=n, max_size=n))
    streams = draw(st.lists(st.lists(segment, min_size=n, max_size=n), min_size=1, max_size=4))
    # Most references share the hypothesis with some text around it, so that higher-order n-grams match.
    streams = [[draw(st.sampled_from([r, h + r, r + h, r + " " + h + " " + r])) for h, r in zip(hyps, stream)]
               for stream in streams]
    return hyps, streams


def assert_same_bleu(hyps, streams):
    ours, theirs = bleu(hyps, streams), sacrebleu.corpus_bleu(hyps, streams)
    assert (ours.counts, ours.totals, ours.sys_len, ours.ref_len) == (
        list(theirs.counts), list(theirs.totals), theirs.sys_len, theirs.ref_len)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)
    assert str(ours) == str(theirs)
    return ours


def assert_same_chrf(hyps, streams):
    ours, theirs = chrf(hyps, streams), sacrebleu.corpus_chrf(hyps, streams)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert str(ours) == str(theirs)
    return ours


@settings(max_examples=400, deadline=None)
@given(st.one_of(segment, st.text(max_size=40), st.text(" .,-'0123456789a\n&;<>ampltgquo", max_size=30)))
def test_tokenizer_matches_sacrebleu_13a(line):
    assert tokenize_13a(line) == Tokenizer13a()(line)


@settings(max_examples=300, deadline=None)
@given(corpora())
def test_bleu_matches_sacrebleu_on_random_corpora(corpus):
    assert_same_bleu(*corpus)


@settings(max_examples=200, deadline=None)
@given(corpora())
def test_chrf_matches_sacrebleu_on_random_corpora(corpus):
    assert_same_chrf(*corpus)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=4), st.data())
def test_bleu_and_chrf_match_sacrebleu_on_arbitrary_unicode(hyps, data):
    refs = data.draw(st.lists(st.text(max_size=30), min_size=len(hyps), max_size=len(hyps)))
    assert_same_bleu(hyps, [refs])
    assert_same_chrf(hyps, [refs])


def test_missing_references_as_sacrebleu(rng):
    words = "in the beginning god created the heaven and earth".split()
    hyps = [" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(5)]
    first = [" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(5)]
    second = [" ".join(rng.choice(words, size=rng.integers(3, 9))) if i % 2 else None for i in range(5)]
    assert_same_bleu(hyps, [first, second])
    assert_same_chrf(hyps, [first, second])


def test_flat_reference_stream_equals_one_stream(rng):
    words = "and the earth was without form and void".split()
    hyps = [" ".join(rng.choice(words, size=6)) for _ in range(4)]
    refs = [" ".join(rng.choice(words, size=6)) for _ in range(4)]
    assert bleu(hyps, refs) == bleu(hyps, [refs]) == assert_same_bleu(hyps, [refs])
    assert chrf(hyps, refs) == chrf(hyps, [refs]) == assert_same_chrf(hyps, [refs])


@pytest.fixture(scope="module")
def verses():
    try:
        kjv, sparv = bible("kjv"), bible("sparv")
    except DownloadError as e:
        pytest.skip(f"the Bible corpora cannot be fetched: {e}")
    return [(en, es) for (_, en), (_, es) in zip(kjv, sparv) if en and es]


def corrupt(rng, text):
    """A plausible system output: some words dropped, swapped with a neighbour or repeated."""
    words = text.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.1:
            continue
        out.append(w)
        if r > 0.95:
            out.append(w)
    for _ in range(len(out) // 6):
        i = rng.integers(0, max(len(out) - 1, 1))
        out[i:i + 2] = out[i:i + 2][::-1]
    return " ".join(out)


def test_bleu_and_chrf_match_sacrebleu_on_bible_verses(verses, rng):
    picked = [verses[i] for i in rng.choice(len(verses), size=800, replace=False)]
    english, spanish = [en for en, _ in picked], [es for _, es in picked]
    hyps = [corrupt(rng, en) for en in english]
    ours = assert_same_bleu(hyps, [english])
    assert 20 < ours.score < 90
    assert_same_chrf(hyps, [english])
    # Two references (the true verse and another corruption); a Spanish "translation" scored against English.
    assert_same_bleu(hyps, [english, [corrupt(rng, en) for en in english]])
    assert_same_chrf(hyps, [english, [corrupt(rng, en) for en in english]])
    assert_same_bleu(spanish, [english])
    assert_same_chrf(spanish, [english])
    assert bleu(english, english).score == pytest.approx(100.0)


def test_cli_prints_sacrebleu_lines(tmp_path, capsys, rng):
    words = "let there be light and there was light".split()
    hyps = [" ".join(rng.choice(words, size=rng.integers(4, 10))) for _ in range(6)]
    refs = [[" ".join(rng.choice(words, size=rng.integers(4, 10))) for _ in range(6)] for _ in range(2)]
    paths = []
    for name, lines in [("hyp", hyps), ("ref1", refs[0]), ("ref2", refs[1])]:
        (tmp_path / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths.append(str(tmp_path / name))
    capsys.readouterr()  # the rng fixture's seed line
    assert main(["bleu", *paths]) == 0
    assert capsys.readouterr().out == f"{sacrebleu.corpus_bleu(hyps, refs)}\n"
    assert main(["bleu", "--chrf", *paths]) == 0
    assert capsys.readouterr().out == f"{sacrebleu.corpus_bleu(hyps, refs)}\n{sacrebleu.corpus_chrf(hyps, refs)}\n"
    (tmp_path / "short").write_text("one line\n", encoding="utf-8")
    assert main(["bleu", paths[0], str(tmp_path / "short")]) == 1
    assert "reference stream 0 has 1 segments but there are 6 hypotheses" in capsys.readouterr().err


@pytest.mark.parametrize("metric", [bleu, chrf])
def test_errors_name_the_problem(metric):
    with pytest.raises(ValueError, match="no hypotheses"):
        metric([], [[]])
    with pytest.raises(ValueError, match="reference stream 1 has 1 segments but there are 2 hypotheses"):
        metric(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(ValueError, match="reference stream 0 has 3 segments but there are 2 hypotheses"):
        metric(["a", "b"], ["a", "b", "c"])
    with pytest.raises(TypeError, match="hypotheses must be a list of strings, got str"):
        metric("a b", ["a b"])
    with pytest.raises(TypeError, match="hypothesis 1 is a int, not a str"):
        metric(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match="reference 0 of stream 1 is a bytes, not a str"):
        metric(["a"], [["a"], [b"a"]])
    with pytest.raises(TypeError, match="references must be a list of reference streams"):
        metric(["a"], "a")
    with pytest.raises(ValueError, match="segment 1 has no reference"):
        metric(["a", "b"], [["a", None], ["a", None]])
    with pytest.raises(ValueError, match="no references"):
        metric(["a"], [])

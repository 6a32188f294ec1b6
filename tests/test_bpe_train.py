"""BPE training (pyllm.tokenizers.train, core/src/text/bpe_train.cpp): merges equal to Hugging Face tokenizers'
BpeTrainer on real and handmade corpora, the tie-break, min_frequency, special tokens, streaming inputs, the
parallel chunk counting, and the errors."""
import collections
import doctest
import json

import pytest

import pyllm
from pyllm import _core
from pyllm.tokenizers import train as train_module
from pyllm.tokenizers.train import train_bpe
from text_samples import SAMPLES, hamlet, shakespeare

tokenizers = pytest.importorskip("tokenizers")
regex = pytest.importorskip("regex")

# GPT-2's split pattern (as HF's ByteLevel pre-tokenizer and tiktoken's gpt2 use it).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def byte_level_chars():
    """GPT-2's byte -> printable character map (HF's ByteLevel alphabet)."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(others)}}


BYTE_OF_CHAR = {c: b for b, c in byte_level_chars().items()}


def hf_train(docs, vocab_size, min_frequency, special_tokens=(), use_regex=True):
    """HF's merges as (left bytes, right bytes), training models.BPE with a ByteLevel pre-tokenizer (GPT-2's
    pattern, or each document whole with use_regex=False) and the full byte alphabet."""
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=use_regex)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(special_tokens),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(docs, trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    to_bytes = lambda s: bytes(BYTE_OF_CHAR[c] for c in s)  # noqa: E731
    return [(to_bytes(a), to_bytes(b)) for a, b in (m.split(" ") if isinstance(m, str) else m for m in merges)]


def as_bytes(vocab, merges):
    """Our merges as (left bytes, right bytes), after checking vocab's layout."""
    assert vocab[:256] == [bytes([b]) for b in range(256)]
    assert len(vocab) == 256 + len(merges)
    for k, (left, right) in enumerate(merges):
        assert left < 256 + k and right < 256 + k
        assert vocab[256 + k] == vocab[left] + vocab[right]
    return [(vocab[a], vocab[b]) for a, b in merges]


def table_of(counts):
    table = _core.BpeChunkTable()
    for chunk, n in counts.items():
        table.add(chunk, n)
    return table


def gpt2_chunk_counts(docs):
    counts = collections.Counter()
    for d in docs:
        counts.update(regex.findall(GPT2_PATTERN, d))
    return counts


def random_docs(rng, n, alphabet, max_len=12):
    return ["".join(rng.choice(alphabet, size=int(rng.integers(1, max_len + 1)))) for _ in range(n)]


# ---- the worked example ----

def test_worked_example_docstring():
    result = doctest.testmod(train_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


def test_worked_example_to_the_end():
    # With min_frequency=1 training goes on through the pairs seen once, smallest ids first, until one token
    # is the whole text.
    vocab, merges = train_bpe("aaabdaaabac", 300, pattern="none", min_frequency=1, show_progress=False)
    assert merges == [(97, 97), (97, 98), (256, 257), (97, 99), (100, 258), (258, 260), (261, 259)]
    assert vocab[-1] == b"aaabdaaabac"


# ---- parity with Hugging Face's BpeTrainer ----

@pytest.mark.parametrize("vocab_size", [257, 300, 1000, 4000])
def test_merge_stage_matches_hf_on_shakespeare(vocab_size):
    # The merge stage alone, on chunk counts made here with GPT-2's pattern.
    text = hamlet()
    vocab, merges = _core.bpe_train(table_of(gpt2_chunk_counts([text])), vocab_size - 256, 2)
    expected = hf_train([text], vocab_size, 2)
    assert len(expected) == vocab_size - 256
    assert as_bytes(vocab, merges) == expected


@pytest.mark.parametrize("vocab_size", [300, 2000, 8192])
def test_train_matches_hf_on_shakespeare(vocab_size):
    # End to end: the complete works, pre-tokenized by the core's gpt2 scanner, cut into units and counted
    # on all threads.
    text = shakespeare()
    vocab, merges = train_bpe(text, vocab_size, show_progress=False)
    assert as_bytes(vocab, merges) == hf_train([text], vocab_size, 2)


def test_train_matches_hf_on_samples():
    docs = [t for t in SAMPLES.values() if t]
    vocab, merges = train_bpe(iter(docs), 1500, min_frequency=1, show_progress=False)
    assert as_bytes(vocab, merges) == hf_train(docs, 1500, 1)


@pytest.mark.parametrize("name", ["gpt2", "cl100k", "o200k"])
def test_custom_pattern_counts_documents_whole(name):
    # A custom regex runs on the core's regex engine over each whole document (never cut): with the regex a
    # built-in name stands for, the merges are the built-in scanner's.
    text = hamlet()
    expected = train_bpe(text, 1000, pattern=name, show_progress=False)
    assert train_bpe(text, 1000, pattern=_core.pretokenize_regex(name), show_progress=False) == expected


@pytest.mark.parametrize("min_frequency", [0, 1, 2, 5])
def test_random_corpora_match_hf(rng, min_frequency):
    # Small alphabets make many ties (equal counts), bytes from both ends of HF's byte order (space, newline,
    # NUL, the soft hyphen's 0xC2 0xAD, 0xFF-range lead bytes) and tokens of several bytes tie with each other.
    alphabet = ["a", "b", "c", " ", "\n", "\x00", "\u00ad", "é", "日", "😀"]
    docs = random_docs(rng, 300, alphabet)
    vocab, merges = train_bpe(iter(docs), 2000, pattern="none", min_frequency=min_frequency, show_progress=False)
    assert as_bytes(vocab, merges) == hf_train(docs, 2000, min_frequency, use_regex=False)


def test_ties_follow_byte_level_order():
    # Every pair occurs once: the order is HF's: left id first, bytes by their byte-level character (printable
    # ASCII before space and control bytes), merged tokens after all bytes.
    docs = ["ba", "ab", " a", "a ", "\n!", "!\n", "ZZ"]
    vocab, merges = train_bpe(iter(docs), 300, pattern="none", min_frequency=1, show_progress=False)
    got = as_bytes(vocab, merges)
    assert got == [(b"!", b"\n"), (b"Z", b"Z"), (b"a", b"b"), (b"a", b" "), (b"b", b"a"), (b"\n", b"!"),
                   (b" ", b"a")]
    assert got == hf_train(docs, 300, 1, use_regex=False)


def test_overlapping_runs_match_hf():
    # "aaaa" merges as "aa aa", "aaa" as "aa a": counts of the overlapping pairs must follow.
    docs = ["aaaa", "aaa", "aaaaaaa", "abababab", "aab", "aaab"] * 3
    vocab, merges = train_bpe(iter(docs), 300, pattern="none", min_frequency=1, show_progress=False)
    assert as_bytes(vocab, merges) == hf_train(docs, 300, 1, use_regex=False)


def test_unicode_matches_hf():
    docs = ["天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。" * 3, "대한민국의 수도는 서울입니다. 한국어 " * 2,
            "Family: 👨‍👩‍👧‍👦 👨‍👩‍👧‍👦 flags 🇯🇵🇺🇸", "e\u0301 a\u0300\u0323 é é"]
    counts = gpt2_chunk_counts(docs)
    vocab, merges = _core.bpe_train(table_of(counts), 400, 0)
    assert as_bytes(vocab, merges) == hf_train(docs, 656, 0)


# ---- min_frequency ----

def test_min_frequency_stops_early(capsys):
    docs = ["abab"] * 3 + ["cd"] * 2 + ["ef"]
    vocab, merges = train_bpe(iter(docs), 1000, pattern="none", min_frequency=3, show_progress=True)
    # "ab" occurs 6 times, then "ab"+"ab" and "b"+"a" (now gone) ...; "cd" twice is below 3.
    assert as_bytes(vocab, merges) == [(b"a", b"b"), (b"ab", b"ab")]
    assert "stopped after 2 of 744 merges" in capsys.readouterr().err
    assert as_bytes(vocab, merges) == hf_train(docs, 1000, 3, use_regex=False)
    _, merges2 = train_bpe(iter(docs), 1000, pattern="none", min_frequency=2, show_progress=False)
    assert len(merges2) == 3  # "cd" (twice) joins


# ---- special tokens ----

def test_special_tokens_are_cut_out():
    special = "<|endoftext|>"
    docs = ["ab<ab|ab", "xyxy", "<|endoftext|>"]
    text = special.join(docs) + special
    vocab, merges = train_bpe(text, 300, pattern="none", special_tokens=[special], min_frequency=1,
                              show_progress=False)
    # The text between the special tokens is what gets counted: the same as the pieces as documents.
    assert as_bytes(vocab, merges) == hf_train([d for d in text.split(special) if d], 299, 1, use_regex=False)
    assert all(b"<|" not in t and b"|>" not in t for t in vocab)
    # vocab_size counts the special token: 256 + merges + 1.
    vocab2, merges2 = train_bpe(text, 260, pattern="none", special_tokens=[special], min_frequency=1,
                                show_progress=False)
    assert len(vocab2) == 259 and len(merges2) == 3


def test_special_tokens_longest_match_first():
    # Where two special tokens start at one position the longer wins: had "<a>" matched, ">xx" would be
    # counted and (">", "x") merged too.
    vocab, merges = train_bpe("xx<a><a>>xx<a>>", 300, pattern="none", special_tokens=["<a>", "<a>>"],
                              min_frequency=1, show_progress=False)
    assert as_bytes(vocab, merges) == [(b"x", b"x")]


# ---- inputs: str, files, iterators; streaming ----

def test_inputs_agree(tmp_path, monkeypatch):
    docs = ["héllo wörld, hello world!\n" * 40, "日本語のテキスト。\n" * 30, "plain ascii text " * 50]
    paths = []
    for i, d in enumerate(docs):
        p = tmp_path / f"doc{i}.txt"
        p.write_bytes(d.encode("utf-8"))
        paths.append(p)
    expected = hf_train(docs, 400, 2, use_regex=False)
    kwargs = dict(pattern="none", min_frequency=2, show_progress=False)
    assert as_bytes(*train_bpe(iter(docs), 400, **kwargs)) == expected
    assert as_bytes(*train_bpe(paths, 400, **kwargs)) == expected
    assert as_bytes(*train_bpe([str(p) for p in paths], 400, **kwargs)) == expected
    # Tiny pieces: files are read 7 bytes at a time (splitting multi-byte characters), strings 7 characters
    # at a time, and the iterator's documents are sent one by one.
    monkeypatch.setattr(train_module, "_PIECE", 7)
    assert as_bytes(*train_bpe(paths, 400, **kwargs)) == expected
    assert as_bytes(*train_bpe(iter(docs), 400, **kwargs)) == expected
    assert as_bytes(*train_bpe(docs[0], 400, **kwargs)) == hf_train(docs[:1], 400, 2, use_regex=False)


def stress_text(rng, n):
    """Text made to hit the places where documents are cut: newlines after punctuation, letters, digits,
    spaces and other newlines, before letters, digits, '/', apostrophes, marks and spaces; CRLF; non-ASCII
    white space."""
    parts = [" ", "  ", "\n", "\r\n", "\t", "!", ".", "/", "'", "'s", "'ll", "a", "Ab", "zz", "1", "42", "é",
             "\u0301", "日本", "\u00a0", "\u2028", "😀", "\nA", "!\n", "x\n1", "\n/", ".\nThe", ";\n'tis"]
    return "".join(rng.choice(parts, size=n))


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "o200k"])
def test_cut_units_count_like_the_whole_text(rng, pattern):
    # Documents are cut (here at every safe place: unit_bytes=1) and fed in pieces that end anywhere, even
    # inside a character; the counts must equal those of the pattern over each whole document.
    docs = [stress_text(rng, 3000), hamlet()[:50000], SAMPLES["code"] * 3, SAMPLES["crlf"] * 3]
    expected = collections.Counter()
    for d in docs:
        expected.update(c.encode() for c in _core.pretokenize(pattern, d))
    for unit_bytes in [1, 97, 1 << 20]:
        counter = _core.BpeChunkCounter(pattern, [], unit_bytes)
        for d in docs:
            data = d.encode()
            cuts = sorted(set(int(x) for x in rng.integers(0, len(data), 20)))
            for a, b in zip([0] + cuts, cuts + [len(data)]):
                counter.add(data[a:b], b == len(data))
        assert dict(counter.finish().items()) == expected
        counter = _core.BpeChunkCounter(pattern, [], unit_bytes)
        counter.add_documents(docs)
        assert dict(counter.finish().items()) == expected


def test_cut_units_with_special_tokens(rng):
    special = "<|endoftext|>"
    docs = [stress_text(rng, 500) for _ in range(20)]
    expected = collections.Counter()
    for d in docs:
        expected.update(c.encode() for c in _core.pretokenize("gpt2", d))
    counter = _core.BpeChunkCounter("gpt2", [special], 1)
    counter.add(special.join(docs), True)
    assert dict(counter.finish().items()) == expected


def test_counter_tables_merge_across_threads():
    # Each thread counts into its own table; the totals after finish() are the sums.
    old = pyllm.get_num_threads()
    try:
        pyllm.set_num_threads(2)
        counter = _core.BpeChunkCounter("none", [])
        counter.add_documents(["ab", "cd", "ab", "ef"] * 10)
        counter.add_documents(["ab", "x"])
        table = counter.finish()
    finally:
        pyllm.set_num_threads(old)
    assert dict(table.items()) == {b"ab": 21, b"cd": 10, b"ef": 10, b"x": 1}
    assert table.total == 42


@pytest.mark.parametrize("threads", [2, 3])
def test_deterministic_across_thread_counts(monkeypatch, threads):
    # Pieces of 64 kB, each cut into units for the threads: the same merges whatever the thread count.
    monkeypatch.setattr(train_module, "_PIECE", 1 << 16)
    text = shakespeare()[:1_000_000]
    old = pyllm.get_num_threads()
    try:
        pyllm.set_num_threads(1)
        reference = train_bpe(text, 1000, show_progress=False)
        pyllm.set_num_threads(threads)
        assert train_bpe(text, 1000, show_progress=False) == reference
    finally:
        pyllm.set_num_threads(old)


# ---- progress ----

def test_progress_bars(capsys):
    train_bpe("hello hello hello world " * 20, 270, pattern="none", show_progress=True)
    err = capsys.readouterr().err
    assert "counting:" in err and "merging:" in err and "100.0%" in err


def test_progress_callback_errors_propagate():
    table = table_of({"abcabcabc": 3, "xyxy": 2, "pq": 1})

    def fail(done):
        raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at 1"):
        _core.bpe_train(table, 10, 1, fail, 1)
    seen = []
    _, merges = _core.bpe_train(table, 10, 1, seen.append, 2)
    assert len(merges) == 7
    assert seen == [2, 4, 6, 7]  # every 2 merges, then at the end


# ---- errors ----

def test_errors(tmp_path):
    with pytest.raises(ValueError, match="train_bpe: vocab_size=255 is below the 256 byte tokens plus 0"):
        train_bpe("abc", 255, pattern="none")
    with pytest.raises(ValueError, match="train_bpe: vocab_size=257 is below the 256 byte tokens plus 2"):
        train_bpe("abc", 257, pattern="none", special_tokens=["<a>", "<b>"])
    with pytest.raises(ValueError, match="train_bpe: empty corpus"):
        train_bpe("", 300, pattern="none", show_progress=False)
    with pytest.raises(ValueError, match="train_bpe: empty corpus"):
        train_bpe(iter([]), 300, pattern="none", show_progress=False)
    with pytest.raises(ValueError, match="train_bpe: empty corpus"):
        train_bpe("<a><a>", 300, pattern="none", special_tokens=["<a>"], show_progress=False)
    with pytest.raises(ValueError, match="train_bpe: special tokens must be non-empty strings"):
        train_bpe("abc", 300, pattern="none", special_tokens=[""])
    with pytest.raises(ValueError, match="train_bpe: duplicate special tokens"):
        train_bpe("abc", 300, pattern="none", special_tokens=["<a>", "<a>"])
    with pytest.raises(ValueError, match="train_bpe: min_frequency must be a non-negative int"):
        train_bpe("abc", 300, pattern="none", min_frequency=-1)
    with pytest.raises(TypeError, match="train_bpe: texts must yield str, got bytes"):
        train_bpe(iter([b"abc"]), 300, pattern="none", show_progress=False)
    with pytest.raises(ValueError, match=r"regex '\(unclosed': an unterminated group"):
        train_bpe("abc", 300, pattern="(unclosed")
    with pytest.raises(TypeError, match="train_bpe: pattern must be a str"):
        train_bpe("abc", 300, pattern=None)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine text\nthen \xff here")
    with pytest.raises(ValueError, match=r"train_bpe: invalid UTF-8 at byte 15 in .*bad\.txt"):
        train_bpe([bad], 300, pattern="none", show_progress=False)
    with pytest.raises(FileNotFoundError, match=r"no file '.*missing\.txt'"):
        train_bpe([tmp_path / "missing.txt"], 300, pattern="none", show_progress=False)
    with pytest.raises(FileNotFoundError, match=r"a list or tuple holds file paths; give texts as one str or an "
                                                r"iterator"):
        train_bpe(["To be, or not to be: that is the question"], 300, show_progress=False)

"""Byte-level BPE training. The counting and the merge loop run in the compiled core (core/src/text/bpe_train.cpp);
this module reads the corpus, streams it there in large pieces and draws the progress bars.

A worked example (minbpe's): with no pre-tokenization the text is one chunk; "aa" is the most frequent pair
(4 times) and becomes token 256, then "a"+"b" and "aa"+"a" both occur twice and the tie goes to the pair of
smaller ids ("a"+"b", token 257; see train_bpe for the exact rule), then "aa"+"ab" (twice) becomes 258. Every
pair left occurs once, below min_frequency=2, so training stops there, short of vocab_size.

>>> vocab, merges = train_bpe("aaabdaaabac", vocab_size=300, pattern="none", show_progress=False)
>>> merges
[(97, 97), (97, 98), (256, 257)]
>>> vocab[256:]
[b'aa', b'ab', b'aaab']
"""
import os
import sys
import time

from .. import _core

# Characters (str input) or bytes (files) per call into the core: large enough that the threads share each
# piece, small enough that memory holds a piece or two, not the corpus.
_PIECE = 8 << 20


def train_bpe(texts, vocab_size, pattern="gpt2", special_tokens=(), min_frequency=2, show_progress=True):
    """Learns a byte-level BPE vocabulary. Returns ``(vocab, merges)``: ``vocab[i]`` is the bytes of token i (ids
    0-255 are the single bytes in byte order, then one token per merge, in merge order) and ``merges[k]`` is the
    pair ``(left_id, right_id)`` whose merge made token ``256 + k``.

    texts: a str (one document), a list or tuple of file paths (each file one document, read in pieces of
        8 MB and decoded as UTF-8), or any other iterable of str (each one document). No pre-token chunk
        spans two documents.
    vocab_size: counts the 256 bytes, the merges and the special tokens.
    pattern: the pre-tokenizer: "gpt2", "cl100k", "o200k", "none" (each document is one chunk) or a regex.
    special_tokens: strings cut out of the text before counting: they never take part in merges. They are not
        in ``vocab``; a tokenizer gives them the ids after it.
    min_frequency: a pair occurring fewer times is never merged; when the most frequent pair falls below it,
        training stops early and returns fewer merges than vocab_size asks for (a note on stderr says so when
        show_progress is set).
    show_progress: progress bars on stderr for counting and merging.

    The merges equal those of Hugging Face tokenizers' ``BpeTrainer`` (``models.BPE`` with a ``ByteLevel``
    pre-tokenizer and ``initial_alphabet=ByteLevel.alphabet()``) on the same documents. Among pairs of equal
    count the one with the smallest ids wins, comparing left ids first, where the ids order bytes by the code
    point of their byte-level character (bytes 33-126, 161-172 and 174-255 first, then 0-32, 127-160 and 173)
    and merged tokens by merge order, after all bytes. Two differences: special tokens are cut out here (the HF
    trainer counts their text like any other), and where two different merges make the same bytes HF reuses
    the first token's id while here every merge makes a new token.

    With the built-in patterns a long document is cut where a printable ASCII character, a newline and a
    letter or digit meet, which splits it exactly as the whole text would split, and the pieces are counted in
    parallel; custom patterns and "none" count each document whole.
    """
    specials = list(special_tokens)
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"train_bpe: special tokens must be non-empty strings, got {s!r}")
    if len(set(specials)) != len(specials):
        raise ValueError(f"train_bpe: duplicate special tokens in {specials!r}")
    if not isinstance(pattern, str):
        raise TypeError(f"train_bpe: pattern must be a str, got {type(pattern).__name__}")
    if not isinstance(vocab_size, int) or vocab_size < 256 + len(specials):
        raise ValueError(f"train_bpe: vocab_size={vocab_size!r} is below the 256 byte tokens plus "
                         f"{len(specials)} special tokens")
    if not isinstance(min_frequency, int) or min_frequency < 0:
        raise ValueError(f"train_bpe: min_frequency must be a non-negative int, got {min_frequency!r}")

    counter = _core.BpeChunkCounter(pattern, specials)
    _count(counter, texts, show_progress)
    chunks = counter.finish()
    if len(chunks) == 0:
        raise ValueError("train_bpe: empty corpus (no text outside the special tokens)")

    num_merges = vocab_size - 256 - len(specials)
    bar = _Bar("merging", num_merges, "merges", show_progress)
    vocab, merges = _core.bpe_train(chunks, num_merges, min_frequency, bar.update if show_progress else None,
                                    max(1, num_merges // 200))
    bar.close()
    if show_progress and len(merges) < num_merges:
        print(f"train_bpe: stopped after {len(merges)} of {num_merges} merges: no pair occurs "
              f"{max(min_frequency, 1)} times or more", file=sys.stderr)
    return vocab, merges


def _count(counter, texts, show_progress):
    """Feeds the documents of ``texts`` to the counter, in pieces, with a progress bar over their size."""
    if isinstance(texts, str):
        bar = _Bar("counting", len(texts), "chars", show_progress)
        _add_str(counter, texts, bar)
    elif isinstance(texts, (list, tuple)):
        paths = [os.fspath(p) for p in texts]
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"train_bpe: no file {p[:60]!r}{'...' if len(p) > 60 else ''}: a list or "
                                        "tuple holds file paths; give texts as one str or an iterator of str "
                                        "(e.g. iter(texts))")
        bar = _Bar("counting", sum(os.path.getsize(p) for p in paths), "bytes", show_progress)
        for path in paths:
            _add_file(counter, path, bar)
    else:
        bar = _Bar("counting", None, "chars", show_progress)
        batch, size = [], 0
        for doc in texts:
            if not isinstance(doc, str):
                raise TypeError(f"train_bpe: texts must yield str, got {type(doc).__name__}")
            if len(doc) >= _PIECE:
                _add_str(counter, doc, bar)
                continue
            batch.append(doc)
            size += len(doc)
            if size >= _PIECE:
                counter.add_documents(batch)
                bar.advance(size)
                batch, size = [], 0
        counter.add_documents(batch)
        bar.advance(size)
    bar.close()


def _add_str(counter, text, bar):
    for start in range(0, max(len(text), 1), _PIECE):
        piece = text[start:start + _PIECE]
        counter.add(piece, start + _PIECE >= len(text))
        bar.advance(len(piece))


def _add_file(counter, path, bar):
    with open(path, "rb") as f:
        piece = f.read(_PIECE)
        while True:
            following = f.read(_PIECE)
            try:
                counter.add(piece, not following)
            except ValueError as e:
                raise ValueError(f"{e} in {path}") from None
            bar.advance(len(piece))
            if not following:
                return
            piece = following


class _Bar:
    """A plain progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label, total, unit, enabled):
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.done, self.start, self.drawn = 0, time.perf_counter(), 0.0

    def advance(self, n):
        self.update(self.done + n)

    def update(self, done):
        self.done = done
        if self.enabled and time.perf_counter() - self.drawn >= 0.1:
            self._draw()

    def close(self):
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _draw(self):
        self.drawn = time.perf_counter()
        elapsed = self.drawn - self.start
        scale, unit = (1e6, "M" + self.unit) if self.unit != "merges" else (1, self.unit)
        fmt = (lambda n: f"{n / scale:.1f}") if scale != 1 else str
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * 30)
            line = (f"{self.label}: |{'#' * filled}{'.' * (30 - filled)}| {frac * 100:5.1f}% "
                    f"{fmt(self.done)}/{fmt(self.total)} {unit} {elapsed:.1f}s")
        else:
            line = f"{self.label}: {fmt(self.done)} {unit} {elapsed:.1f}s"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

"""Pre-tokenization throughput (MB/s of UTF-8 input, one thread): pyllm's hand-written scanners and its regex
engine (given tiktoken's regexes as custom patterns) against the `regex` module's findall and tiktoken's
own splitting.

    PYTHONPATH=. python bench/bench_pretokenize.py [--reps 9] [--mb 5]

tiktoken does not expose its splitter, so it is timed through `encode_ordinary` with a vocabulary holding
the 256 single bytes and every chunk of the text: each chunk is then one hash lookup, and what is left is
tiktoken's fancy-regex split plus building the list of ids (an upper bound on the split alone). pyllm's
calls convert the str to UTF-8 and count the chunks (no Python list). Each repetition calls every contender
once, the order rotating; the table gives medians and each contender's time over the scanner's.
"""
import argparse
import os
import statistics
import sys
import time

import regex
import tiktoken

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from text_samples import SAMPLES, shakespeare  # noqa: E402

from pyllm import _core  # noqa: E402

NAMES = ("gpt2", "cl100k", "o200k")


def tiktoken_splitter(name, text):
    pattern = _core.pretokenize_regex(name)
    ranks = {bytes([b]): b for b in range(256)}
    for chunk in _core.pretokenize(name, text):
        ranks.setdefault(chunk.encode(), len(ranks))
    enc = tiktoken.Encoding(f"split-{name}", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    return lambda: len(enc.encode_ordinary(text))


def contenders(name, text):
    pattern = _core.pretokenize_regex(name)
    compiled = regex.compile(pattern)
    return {
        "pyllm scanner": lambda: _core.pretokenize_count(name, text),
        "pyllm regex engine": lambda: _core.pretokenize_count(pattern, text),
        "tiktoken (split + lookup)": tiktoken_splitter(name, text),
        "regex.findall": lambda: len(compiled.findall(text)),
    }


def time_interleaved(fns, reps):
    names = list(fns)
    counts = {n: fns[n]() for n in names}  # warm-up, and every contender must find the same chunks
    assert len(set(counts.values())) == 1, counts
    times = {n: [] for n in names}
    for r in range(reps):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            fns[n]()
            times[n].append(time.perf_counter() - t0)
    return times, counts[names[0]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--mb", type=float, default=5.0, help="MB of Shakespeare to split (all of it: 5.06)")
    args = parser.parse_args()
    english = shakespeare()[:int(args.mb * 1e6)]
    # The samples in other scripts and of code, emoji, digits (not the very long words, which would dominate).
    mixed = "\n".join(SAMPLES[k] for k in ("chinese", "japanese", "korean", "mixed_scripts", "emoji", "combining",
                                            "cased", "contractions", "digits", "code", "crlf"))
    mixed = mixed * max(1, int(1e6 // len(mixed.encode())))
    corpora = {"Shakespeare": english, "multilingual samples": mixed}
    print(f"tiktoken {tiktoken.__version__}, regex {regex.__version__}, one thread, medians of {args.reps}\n")
    for corpus, text in corpora.items():
        mb = len(text.encode()) / 1e6
        print(f"### {corpus} ({mb:.2f} MB)\n")
        print("| pattern | contender | chunks | median ms | MB/s | time / scanner |")
        print("|---|---|---:|---:|---:|---:|")
        for name in NAMES:
            times, chunks = time_interleaved(contenders(name, text), args.reps)
            base = statistics.median(times["pyllm scanner"])
            for contender, ts in times.items():
                med = statistics.median(ts)
                print(f"| {name} | {contender} | {chunks} | {med * 1e3:.1f} | {mb / med:.1f} | {med / base:.2f} |")
        print()


if __name__ == "__main__":
    main()

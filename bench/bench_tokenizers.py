"""Byte-level BPE encoding throughput: pyllm vs tiktoken vs HF tokenizers, with the same vocabularies.

Usage: PYTHONPATH=. python bench/bench_tokenizers.py [--rounds N] [--encodings gpt2 cl100k]

Corpus: the complete Shakespeare, the King James Bible and the World English Bible (bench/corpus.py),
~14 MB of UTF-8; "docs" are its paragraphs grouped into ~8 kB documents. Modes:
  1 thread, one string   pyllm encode_ordinary(corpus), tiktoken encode_ordinary(corpus),
                         HF encode(corpus) with TOKENIZERS_PARALLELISM=false
  1 thread, docs         pyllm / tiktoken encode_ordinary_batch(docs, num_threads=1),
                         HF encode_batch(docs) with TOKENIZERS_PARALLELISM=false
  2 threads, docs        the same with num_threads=2; HF's rayon pool has RAYON_NUM_THREADS=2 threads
MB/s counts UTF-8 bytes (1e6). Each round runs every library once per mode, in a rotating order, so all
see the same machine load; the table shows medians over the rounds. Before timing, the ids of all three
are checked equal. Vocabularies: GPT-2 (encoder.json + vocab.bpe; HF via BPE.from_file + ByteLevel) and
cl100k_base (tiktoken rank file; HF via pyllm's to_hf_json export), fetched as tests/assets.py does.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "2")  # before tokenizers starts its thread pool
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # the reference set-up the parity tests use

import corpus  # noqa: E402
import assets  # noqa: E402
import tokenizer_refs as refs  # noqa: E402
from pyllm.tokenizers import BPETokenizer  # noqa: E402

TIKTOKEN_NAME = {"gpt2": "gpt2", "cl100k": "cl100k_base"}


def load(name, tmp):
    import tokenizers

    if name == "gpt2":
        ours = BPETokenizer.from_gpt2(refs.asset(assets.GPT2_ENCODER), refs.asset(assets.GPT2_MERGES))
        hf = refs.hf_gpt2()
    else:
        ours = BPETokenizer.from_tiktoken(refs.asset(assets.CL100K), pattern="cl100k")
        path = os.path.join(tmp, f"{name}.json")
        ours.to_hf_json(path)
        hf = tokenizers.Tokenizer.from_file(path)
    return ours, refs.tiktoken_encoding(TIKTOKEN_NAME[name]), hf


def documents(text, size=8192):
    docs, current = [], []
    length = 0
    for paragraph in text.split("\n\n"):
        current.append(paragraph)
        length += len(paragraph)
        if length >= size:
            docs.append("\n\n".join(current))
            current, length = [], 0
    if current:
        docs.append("\n\n".join(current))
    return docs


def hf_encode(hf, parallel):
    def run(data):
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if parallel else "false"  # read by HF at each call
        if isinstance(data, str):
            return hf.encode(data, add_special_tokens=False).ids
        return [e.ids for e in hf.encode_batch(data, add_special_tokens=False)]
    return run


def modes(ours, tt, hf, text, docs):
    return {
        "1 thread, one string": (text, {
            "pyllm": ours.encode_ordinary, "tiktoken": tt.encode_ordinary, "HF": hf_encode(hf, False)}),
        "1 thread, docs": (docs, {
            "pyllm": lambda d: ours.encode_ordinary_batch(d, num_threads=1),
            "tiktoken": lambda d: tt.encode_ordinary_batch(d, num_threads=1), "HF": hf_encode(hf, False)}),
        "2 threads, docs": (docs, {
            "pyllm": lambda d: ours.encode_ordinary_batch(d, num_threads=2),
            "tiktoken": lambda d: tt.encode_ordinary_batch(d, num_threads=2), "HF": hf_encode(hf, True)}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--encodings", nargs="+", default=["gpt2", "cl100k"], choices=list(TIKTOKEN_NAME))
    args = parser.parse_args()
    text = corpus.english_corpus()
    docs = documents(text)
    mb = len(text.encode("utf-8")) / 1e6
    print(f"corpus: {mb:.1f} MB, {len(docs)} docs; rounds: {args.rounds}; cores: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.encodings:
            ours, tt, hf = load(name, tmp)
            table = modes(ours, tt, hf, text, docs)
            for mode, (data, libs) in table.items():  # the three agree before anything is timed
                results = {lib: fn(data) for lib, fn in libs.items()}
                assert results["pyllm"] == results["tiktoken"] == results["HF"], (name, mode)
            times = {(mode, lib): [] for mode, (_, libs) in table.items() for lib in libs}
            for r in range(args.rounds):
                for mode, (data, libs) in table.items():
                    order = list(libs)[r % 3:] + list(libs)[:r % 3]
                    for lib in order:
                        start = time.perf_counter()
                        libs[lib](data)
                        times[mode, lib].append(time.perf_counter() - start)
            for mode in table:
                speed = {lib: mb / statistics.median(times[mode, lib]) for lib in ("pyllm", "tiktoken", "HF")}
                rows.append((name, mode, speed))
                print(f"{name:7s} {mode:21s} pyllm {speed['pyllm']:6.1f} MB/s  tiktoken {speed['tiktoken']:6.1f} MB/s  "
                      f"HF {speed['HF']:6.1f} MB/s  pyllm/tiktoken {speed['pyllm'] / speed['tiktoken']:.2f}x  "
                      f"pyllm/HF {speed['pyllm'] / speed['HF']:.2f}x", flush=True)
    print("\n| vocabulary | mode | pyllm MB/s | tiktoken MB/s | HF tokenizers MB/s | pyllm / tiktoken | pyllm / HF |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, mode, s in rows:
        print(f"| {name} | {mode} | {s['pyllm']:.1f} | {s['tiktoken']:.1f} | {s['HF']:.1f} | "
              f"{s['pyllm'] / s['tiktoken']:.2f}x | {s['pyllm'] / s['HF']:.2f}x |")


if __name__ == "__main__":
    main()

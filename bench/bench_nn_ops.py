"""NN ops, pyllm vs PyTorch (CPU), forward + backward, side by side.

Each case runs both libraries on the same data (shared NumPy memory), interleaved rep by rep (alternating
which goes first) so that machine noise hits both alike; it prints the medians and torch/pyllm (above 1:
pyllm is faster). --clock cpu times process CPU time instead of wall time: on a shared, oversubscribed
machine that leaves out the time spent waiting for a core (it counts every thread's work, so it measures
work, not latency, when threads > 1).
Usage: PYTHONPATH=. python bench/bench_nn_ops.py [--threads N] [--reps R] [--clock wall|cpu] [--only NAME]
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as TF

import pyllm
import pyllm.nn.functional as F


def _leaf(array, lib):
    if lib == "pyllm":
        t = pyllm.from_numpy(array)
        t.requires_grad = True
        return t
    return torch.from_numpy(array).requires_grad_(True)


def _grad(array, lib):
    return pyllm.from_numpy(array) if lib == "pyllm" else torch.from_numpy(array)


def case_softmax(rng, shape, dim):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)

    def make(lib):
        xs, gs = _leaf(x, lib), _grad(g, lib)
        fn = F.softmax if lib == "pyllm" else torch.softmax

        def step():
            xs.grad = None
            fn(xs, dim).backward(gs)
        return step
    return make


def case_layer_norm(rng, rows, dim):
    x = rng.standard_normal((rows, dim)).astype(np.float32)
    w, b = rng.standard_normal(dim).astype(np.float32), rng.standard_normal(dim).astype(np.float32)
    g = rng.standard_normal((rows, dim)).astype(np.float32)

    def make(lib):
        xs, ws, bs, gs = _leaf(x, lib), _leaf(w, lib), _leaf(b, lib), _grad(g, lib)
        fn = F.layer_norm if lib == "pyllm" else TF.layer_norm

        def step():
            xs.grad = ws.grad = bs.grad = None
            fn(xs, (dim,), ws, bs).backward(gs)
        return step
    return make


def case_cross_entropy(rng, n, c):
    x = rng.standard_normal((n, c), dtype=np.float32)
    t = rng.integers(0, c, n)

    def make(lib):
        xs = _leaf(x, lib)
        ts = pyllm.from_numpy(t) if lib == "pyllm" else torch.from_numpy(t)
        fn = F.cross_entropy if lib == "pyllm" else TF.cross_entropy

        def step():
            xs.grad = None
            fn(xs, ts).backward()
        return step
    return make


def case_embedding_backward(rng, vocab, dim, n):
    w = rng.standard_normal((vocab, dim)).astype(np.float32)
    ids = rng.integers(0, vocab, n)
    g = rng.standard_normal((n, dim)).astype(np.float32)

    def make(lib):
        ws, gs = _leaf(w, lib), _grad(g, lib)
        idx = pyllm.from_numpy(ids) if lib == "pyllm" else torch.from_numpy(ids)
        fn = F.embedding if lib == "pyllm" else TF.embedding

        def step():  # the forward is a gather of n rows; the backward's zeroed (V, C) gradient dominates
            ws.grad = None
            fn(idx, ws).backward(gs)
        return step
    return make


CASES = {
    "softmax (4096, 1024) dim=-1": lambda rng: case_softmax(rng, (4096, 1024), -1),
    "softmax (8192, 1024) dim=-1": lambda rng: case_softmax(rng, (8192, 1024), -1),
    "softmax (32, 1024, 64) dim=1": lambda rng: case_softmax(rng, (32, 1024, 64), 1),
    "layer_norm (8192, 768)": lambda rng: case_layer_norm(rng, 8192, 768),
    "cross_entropy (8192, 50257)": lambda rng: case_cross_entropy(rng, 8192, 50257),
    "embedding backward V=50257 C=768 n=8192": lambda rng: case_embedding_backward(rng, 50257, 768, 8192),
}


def run(name, make, reps, clock):
    steps = {lib: make(lib) for lib in ("pyllm", "torch")}
    for _ in range(3):  # warm-up: first-call setup, and the C allocator settling on reusing freed blocks
        for step in steps.values():
            step()
    times = {lib: [] for lib in steps}
    for r in range(reps):
        order = ("pyllm", "torch") if r % 2 == 0 else ("torch", "pyllm")
        for lib in order:
            t0 = clock()
            steps[lib]()
            times[lib].append(clock() - t0)
    ours, theirs = statistics.median(times["pyllm"]), statistics.median(times["torch"])
    print(f"| {name} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {theirs / ours:.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--only", default="")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pyllm.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"threads: {args.threads}, reps: {args.reps} (cross_entropy: {max(3, args.reps // 4)}), "
          f"{args.clock} time, torch {torch.__version__}")
    print("| case (forward + backward, float32) | pyllm ms | torch ms | torch / pyllm |")
    print("| --- | ---: | ---: | ---: |")
    for name, build in CASES.items():
        if args.only not in name:
            continue
        reps = max(3, args.reps // 4) if name.startswith("cross_entropy") else args.reps
        run(name, build(rng), reps, clock)


if __name__ == "__main__":
    main()

"""Causal scaled_dot_product_attention, pyllm vs PyTorch (CPU), forward and forward+backward.

Usage: PYTHONPATH=. python bench/bench_attention.py [--reps N] [--threads N] [--clock wall|cpu]

--clock cpu times each call by process CPU time instead of wall time: with --threads 1 that is steady
even when other jobs share the machine (wall time then measures the neighbours as much as the kernel).

FLOP convention: forward = 4 * B * H * Tq * Tk * D (the two products q k^T and p v), halved under the
causal mask; backward = 2.5 x forward (five products instead of two); forward+backward = 3.5 x forward.
Each round times pyllm and then PyTorch on the same inputs, so both see the same machine load; the
numbers are medians over the rounds.
"""
import argparse
import statistics
import time

import numpy as np
import torch

import pyllm
import pyllm.nn.functional as F

SHAPES = [(8, 6, 256, 64), (4, 12, 1024, 64)]


def flops_forward(B, H, T, D):
    return 4 * B * H * T * T * D / 2  # causal


def make_inputs(B, H, T, D, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((B, H, T, D)).astype(np.float32) for _ in range(4)]
    ours = [pyllm.tensor(a, requires_grad=i < 3) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i < 3) for i, a in enumerate(arrays)]
    return ours, theirs


def forward_ours(q, k, v, g):
    with pyllm.no_grad():
        F.scaled_dot_product_attention(q, k, v, is_causal=True)


def forward_torch(q, k, v, g):
    with torch.no_grad():
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


def train_ours(q, k, v, g):
    for t in (q, k, v):
        t.grad = None
    F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)


def train_torch(q, k, v, g):
    for t in (q, k, v):
        t.grad = None
    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)


def timed(fn, args, clock):
    t0 = clock()
    fn(*args)
    return clock() - t0


def bench(name, ours, theirs, args_ours, args_theirs, flops, reps, clock):
    for _ in range(2):  # warm up both
        ours(*args_ours)
        theirs(*args_theirs)
    t_ours, t_theirs = [], []
    for _ in range(reps):
        t_ours.append(timed(ours, args_ours, clock))
        t_theirs.append(timed(theirs, args_theirs, clock))
    mo, mt = statistics.median(t_ours), statistics.median(t_theirs)
    print(f"{name:<34} pyllm {mo * 1e3:8.2f} ms {flops / mo / 1e9:7.1f} GFLOP/s | torch {mt * 1e3:8.2f} ms "
          f"{flops / mt / 1e9:7.1f} GFLOP/s | speedup {mt / mo:5.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, help="threads for both libraries (default: their defaults)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        pyllm.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    print(f"threads: pyllm {pyllm.get_num_threads()}, torch {torch.get_num_threads()}; {args.clock} clock; "
          f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()})")
    for B, H, T, D in SHAPES:
        ours, theirs = make_inputs(B, H, T, D)
        f = flops_forward(B, H, T, D)
        tag = f"B={B} H={H} T={T} D={D}"
        bench(f"causal fwd     {tag}", forward_ours, forward_torch, ours, theirs, f, args.reps, clock)
        bench(f"causal fwd+bwd {tag}", train_ours, train_torch, ours, theirs, 3.5 * f, args.reps, clock)


if __name__ == "__main__":
    main()

"""AdamW step and clip_grad_norm_ over a GPT-2-small-sized parameter set: pyllm vs PyTorch.

Parameters: the 148 tensors of GPT-2 small (124.4M float32 values). Each repetition times one call of
every contender in turn (the order rotates), so machine noise hits all of them alike; the table gives
medians and each contender's time over pyllm's.

    PYTHONPATH=. python bench/bench_optim.py [--reps 15] [--threads N] [--scale 1.0]

``--scale`` shrinks every tensor's first dim (for a quick run on a small machine).
"""
import argparse
import statistics
import time

import numpy as np
import torch

import pyllm


def gpt2_small_shapes(scale=1.0):
    """The parameter shapes of GPT-2 small (HF layout), first dims multiplied by ``scale``."""
    d, vocab, ctx, layers = 768, 50257, 1024, 12
    per_layer = [(d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,), (d, 4 * d), (4 * d,), (4 * d, d), (d,)]
    shapes = [(vocab, d), (ctx, d)] + per_layer * layers + [(d,), (d,)]
    return [(max(1, int(s[0] * scale)),) + s[1:] for s in shapes]


def fused_supported():
    try:
        p = torch.zeros(4, requires_grad=True)
        p.grad = torch.ones(4)
        torch.optim.AdamW([p], fused=True).step()
        return True
    except (RuntimeError, ValueError):
        return False


def time_interleaved(contenders, reps):
    """{name: [seconds]} with one call of each contender per repetition, the order rotating."""
    names = list(contenders)
    times = {n: [] for n in names}
    for fn in contenders.values():  # warm-up: lazily created state, page faults
        fn()
    for r in range(reps):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            contenders[n]()
            times[n].append(time.perf_counter() - t0)
    return times


def table(title, times, baseline):
    base = statistics.median(times[baseline])
    lines = [f"| {title} | median ms | time / pyllm |", "|---|---:|---:|"]
    for name, ts in times.items():
        med = statistics.median(ts)
        lines.append(f"| {name} | {med * 1e3:.1f} | {med / base:.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        pyllm.set_num_threads(args.threads)
    shapes = gpt2_small_shapes(args.scale)
    numel = sum(int(np.prod(s)) for s in shapes)
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) * 1e-2 for s in shapes]

    ours = [pyllm.tensor(v, requires_grad=True) for v in values]
    for p, g in zip(ours, grads):
        p.grad = pyllm.tensor(g)
    torch_grads = [torch.from_numpy(g) for g in grads]  # shared by every torch optimizer (read only)

    def torch_params():
        params = [torch.tensor(v, requires_grad=True) for v in values]
        for p, g in zip(params, torch_grads):
            p.grad = g
        return params

    opt = pyllm.optim.AdamW(ours, lr=1e-4)
    contenders = {"pyllm AdamW": opt.step}
    variants = {"torch AdamW(foreach=True)": dict(foreach=True)}
    if fused_supported():
        variants["torch AdamW(fused=True)"] = dict(fused=True)
    variants["torch AdamW() default (for-loop)"] = {}
    torch_sets = {}
    for name, kw in variants.items():
        torch_sets[name] = torch_params()
        contenders[name] = torch.optim.AdamW(torch_sets[name], lr=1e-4, **kw).step
    print(f"{len(shapes)} tensors, {numel / 1e6:.1f}M float32 parameters; threads: pyllm {pyllm.get_num_threads()}, "
          f"torch {torch.get_num_threads()}; {args.reps} repetitions")
    step_times = time_interleaved(contenders, args.reps)
    print(table("AdamW step", step_times, "pyllm AdamW"))

    # clip_grad_norm_ with a max_norm it never reaches, so every contender does exactly the norm pass.
    torch_clip_params = torch_sets["torch AdamW(foreach=True)"]
    clip = {
        "pyllm clip_grad_norm_": lambda: pyllm.nn.utils.clip_grad_norm_(ours, 1e30),
        "torch clip_grad_norm_(foreach=True)": lambda: torch.nn.utils.clip_grad_norm_(
            torch_clip_params, 1e30, foreach=True),
        "torch clip_grad_norm_(foreach=False)": lambda: torch.nn.utils.clip_grad_norm_(
            torch_clip_params, 1e30, foreach=False),
    }
    clip_times = time_interleaved(clip, args.reps)
    print()
    print(table("clip_grad_norm_ (norm only)", clip_times, "pyllm clip_grad_norm_"))


if __name__ == "__main__":
    main()

"""fp32 matrix products: pyllm vs NumPy (OpenBLAS) vs PyTorch, side by side in one process.

    PYTHONPATH=. python bench/bench_matmul.py [--threads N] [--reps N] [--only SUBSTRING]

Each case times the three libraries in turn, in short bursts (the order rotates every repetition), so
that load from other processes on a shared machine hits all of them alike. A burst is one untimed call
that wakes the library's thread pool (on this VM a core left idle for 30 ms takes milliseconds to wake:
an empty 2-thread OpenMP region then lasts ~6 ms) and BURST timed calls back to back, as in a training
loop; after a burst the script pauses until the library's spinning threads have gone idle, so that no
call competes with another library's threads. It prints the median time of each, GFLOP/s (2*M*N*K per product) and pyllm's speed as a ratio of the others' (> 1: pyllm faster),
from the medians and, in the last column, from the fastest calls (the least disturbed by other load).
All three use every core (their default thread counts are printed), or --threads N each.

OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE when it is loaded; some machines set them to
values that slow NumPy's matmul down (a smaller kernel, a wrong cache size). This script removes both
from the environment before NumPy is imported (pyllm and torch import it too), and says whether they
were set, so that NumPy is measured at its best.
"""
import argparse
import os
import sys
import time

REMOVED = {name: os.environ.pop(name) for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if name in os.environ}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="threads for each library (default: all cores)")
    parser.add_argument("--reps", type=int, default=0, help="bursts per library and case (default: per case)")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.threads:  # OpenBLAS sizes its thread pool when it is loaded
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyllm  # noqa: E402
import pyllm.nn.functional as F  # noqa: E402

# Pause after each library's burst: after a call OpenBLAS's threads keep spinning for about 0.1 s
# (measured: 0.07-0.1 s of CPU burnt during a sleep that follows a NumPy matmul), PyTorch's for about
# 10 ms, pyllm's (libgomp) for well under 1 ms.
PAUSE_AFTER_S = {"numpy": 0.25, "torch": 0.03, "pyllm": 0.03}
BURST = 2


def stored_transposed(x):
    """x's values held in transposed storage (a column-major matrix, as a transposed view)."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2))


def case_matmul(m, k, n, batch=None, a_t=False, b_t=False, rng=None):
    """a (.., m, k) @ b (.., k, n) in the three libraries; a_t / b_t: the operand is a transposed view."""
    lead = () if batch is None else (batch,)
    a = rng.standard_normal(lead + (m, k), dtype=np.float32)
    b = rng.standard_normal(lead + (k, n), dtype=np.float32)
    na = np.swapaxes(stored_transposed(a), -1, -2) if a_t else a
    nb = np.swapaxes(stored_transposed(b), -1, -2) if b_t else b

    def view(lib_from, lib_t, x, transposed):
        return lib_t(lib_from(stored_transposed(x)), -1, -2) if transposed else lib_from(x)

    pa = view(pyllm.from_numpy, pyllm.Tensor.transpose, a, a_t)
    pb = view(pyllm.from_numpy, pyllm.Tensor.transpose, b, b_t)
    ta = view(torch.from_numpy, torch.transpose, a, a_t)
    tb = view(torch.from_numpy, torch.transpose, b, b_t)
    flops = 2.0 * (batch or 1) * m * n * k
    return flops, {"pyllm": lambda: pa @ pb, "numpy": lambda: na @ nb, "torch": lambda: ta @ tb}


def case_linear(rows, k, n, rng=None):
    """x (rows, k) @ weight (n, k)^T + bias, the layer form (weight stored (out, in))."""
    x = rng.standard_normal((rows, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    bias = rng.standard_normal((n,), dtype=np.float32)
    px, pw, pbias = pyllm.from_numpy(x), pyllm.from_numpy(w), pyllm.from_numpy(bias)
    tx, tw, tbias = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias)
    flops = 2.0 * rows * n * k
    return flops, {"pyllm": lambda: F.linear(px, pw, pbias), "numpy": lambda: x @ w.T + bias,
                   "torch": lambda: torch.nn.functional.linear(tx, tw, tbias)}


CASES = [
    ("4096x768x3072 (M x K x N)", lambda rng: case_matmul(4096, 768, 3072, rng=rng), 8),
    ("4096x3072x768", lambda rng: case_matmul(4096, 3072, 768, rng=rng), 8),
    ("1024x1024x1024", lambda rng: case_matmul(1024, 1024, 1024, rng=rng), 15),
    ("4096x768x3072 A^T", lambda rng: case_matmul(4096, 768, 3072, a_t=True, rng=rng), 6),
    ("4096x768x3072 B^T", lambda rng: case_matmul(4096, 768, 3072, b_t=True, rng=rng), 6),
    ("1024x1024x1024 A^T B^T", lambda rng: case_matmul(1024, 1024, 1024, a_t=True, b_t=True, rng=rng), 15),
    ("batched 48x(256x64 @ 64x256)", lambda rng: case_matmul(256, 64, 256, batch=48, rng=rng), 25),
    ("batched 48x(256x256 @ 256x64)", lambda rng: case_matmul(256, 256, 64, batch=48, rng=rng), 25),
    ("linear 4096x768 -> 3072 +bias", lambda rng: case_linear(4096, 768, 3072, rng=rng), 8),
]


def run_case(fns, reps):
    names = list(fns)
    for fn in fns.values():  # warm up: page in the inputs, size the libraries' buffers
        fn()
        fn()
    times = {name: [] for name in names}
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            fns[name]()  # wakes the thread pool
            for _ in range(BURST):
                t0 = time.perf_counter()
                fns[name]()
                times[name].append(time.perf_counter() - t0)
            time.sleep(PAUSE_AFTER_S[name])
    return ({name: float(np.median(t)) for name, t in times.items()},
            {name: float(np.min(t)) for name, t in times.items()})


def main():
    args = ARGS
    if args.threads:
        pyllm.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    print("OPENBLAS env:", ", ".join(f"{k}={v} (removed)" for k, v in REMOVED.items()) or
          "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE not set")
    print(f"threads: pyllm {pyllm.get_num_threads()}, torch {torch.get_num_threads()}, "
          f"numpy/OpenBLAS {os.environ.get('OPENBLAS_NUM_THREADS', os.cpu_count())}; torch {torch.__version__}, "
          f"numpy {np.__version__}")
    header = f"{'case':34s} {'pyllm ms':>9s} {'numpy ms':>9s} {'torch ms':>9s}   {'GFLOP/s pyllm':>13s} " \
             f"{'numpy':>7s} {'torch':>7s}   {'vs numpy':>8s} {'vs torch':>8s}  {'best vs numpy':>13s}"
    print(header)
    rng = np.random.default_rng(0)
    for name, make, reps in CASES:
        if args.only not in name:
            continue
        flops, fns = make(rng)
        med, best = run_case(fns, args.reps or reps)
        gf = {k: flops / v / 1e9 for k, v in med.items()}
        print(f"{name:34s} {med['pyllm'] * 1e3:9.2f} {med['numpy'] * 1e3:9.2f} {med['torch'] * 1e3:9.2f}   "
              f"{gf['pyllm']:13.1f} {gf['numpy']:7.1f} {gf['torch']:7.1f}   "
              f"{med['numpy'] / med['pyllm']:8.2f} {med['torch'] / med['pyllm']:8.2f}  "
              f"{best['numpy'] / best['pyllm']:13.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

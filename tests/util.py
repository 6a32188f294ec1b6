"""Shared test helpers: paired pyllm/PyTorch tensors from the same fresh random data, comparisons, and
scripts run in a fresh process under a forced instruction set."""
import os
import re
import subprocess
import sys

import numpy as np
import torch

import pyllm

TOL = {  # (rtol, atol) for forward and backward parity at each dtype
    "float32": (1e-5, 1e-5),
    "float64": (1e-10, 1e-10),
}


def to_numpy(t):
    return t.detach().numpy() if isinstance(t, pyllm.Tensor) else t.detach().cpu().numpy()


def pair(array, requires_grad=False, noncontiguous=False):
    """(pyllm tensor, torch tensor) holding ``array``'s values. noncontiguous=True gives both as a
    transposed view of a transposed copy, so kernels see non-unit strides."""
    array = np.asarray(array)
    if noncontiguous and array.ndim >= 2:
        base = np.ascontiguousarray(np.swapaxes(array, -1, -2))
        p = pyllm.from_numpy(base.copy()).transpose(-1, -2)
        t = torch.from_numpy(base.copy()).transpose(-1, -2)
        assert not p.is_contiguous()
    else:
        p = pyllm.tensor(array)
        t = torch.from_numpy(array.copy())
    if requires_grad:
        p.requires_grad = True
        t.requires_grad_(True)
    return p, t


def random_pair(rng, shape, dtype="float32", requires_grad=False, noncontiguous=False, low=None, high=None):
    """Fresh random data (normal, or uniform in [low, high)) as a (pyllm, torch) pair."""
    if low is not None:
        array = rng.uniform(low, high, size=shape)
    else:
        array = rng.standard_normal(shape)
    return pair(array.astype(dtype), requires_grad, noncontiguous)


def assert_close(ours, theirs, rtol=None, atol=None, dtype=None):
    """Elementwise closeness with the dtype's default tolerances; shapes must match exactly."""
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    key = str(dtype or a.dtype)
    r, t = TOL.get(key, (1e-5, 1e-5))
    np.testing.assert_allclose(a, b, rtol=rtol if rtol is not None else r, atol=atol if atol is not None else t)


# Where the imported pyllm lives (the source tree in a development build, site-packages when installed):
# child processes must import that same build.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(pyllm.__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))


def run_under_isa(isa, script, expect="ok", timeout=600):
    """Runs ``python -c script`` in a fresh process whose kernels are forced down to ``isa`` (PYLLM_ISA),
    with the same pyllm build and tests/ importable. Fails, showing the isa and the child's output, unless it
    exits 0 and the last line it prints matches the regular expression ``expect``."""
    path = [ROOT, TESTS] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    env = dict(os.environ, PYLLM_ISA=isa, PYTHONPATH=os.pathsep.join(path))
    # Run from tests/: `python -c` puts the working directory first on sys.path, and the repository root's
    # pyllm/ sources (without the compiled core, when pyllm is installed) must not shadow the build.
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=TESTS, capture_output=True, text=True,
                            timeout=timeout)
    lines = result.stdout.strip().splitlines()
    passed = result.returncode == 0 and bool(lines) and re.fullmatch(expect, lines[-1]) is not None
    assert passed, (f"PYLLM_ISA={isa}: exit status {result.returncode}, expected a last line matching {expect!r}\n"
                    f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


def assert_same_greedy_tokens(got, expected, next_scores, tie=1e-4):
    """Greedy decodes ``got`` and ``expected`` (B, T) agree: identical, or a row parts from the reference only
    where the reference's scores for its own token and ours are within ``tie`` (two implementations within
    float rounding of each other may then pick either, and the rows legitimately diverge from there on).
    ``next_scores(prefix)``: the reference's scores (V,) for the token after ``prefix`` (1-D ids), processed
    as generation processes them."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    for row_got, row_ref in zip(got, expected):
        differ = np.flatnonzero(row_got != row_ref)
        if differ.size == 0:
            continue
        t = differ[0]
        scores = np.asarray(next_scores(row_ref[:t]), dtype=np.float64)
        margin = scores[row_ref[t]] - scores[row_got[t]]
        assert 0 <= margin <= tie, (f"greedy tokens part at position {t}: reference {row_ref[t]} scores {margin:.3g} "
                                    f"above ours ({row_got[t]}), more than a float tie ({tie})")

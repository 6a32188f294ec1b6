"""Autograd controls: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``backward`` and ``gradcheck``.

The graph and the backward pass live in C++; this module only switches grad mode and offers a float64
finite-difference checker that the tests use on every differentiable op.
"""
import functools

import numpy as np

from . import _core

is_grad_enabled = _core.is_grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that sets grad mode, restoring the previous mode on exit."""

    def __init__(self, mode):
        self.prev = _core.is_grad_enabled()
        self.mode = bool(mode)
        _core.set_grad_enabled(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core.set_grad_enabled(self.prev)
        return False


class _GradMode:
    mode = True

    def __enter__(self):
        self.prev = _core.is_grad_enabled()
        _core.set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _core.set_grad_enabled(self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Ops inside record no graph: ``with pyllm.no_grad(): y = model(x)``; also a decorator."""

    mode = False


class enable_grad(_GradMode):
    """Turns graph recording back on inside a ``no_grad`` block."""

    mode = True


def backward(tensors, grad_tensors=None, retain_graph=False):
    """Backward from several outputs at once (their gradients summed into the leaves)."""
    if isinstance(tensors, _core.Tensor):
        tensors = [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, _core.Tensor):
        grad_tensors = [grad_tensors]
    seeds = []
    for t, g in zip(tensors, grad_tensors):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for one-element outputs, "
                                   f"got shape {tuple(t.shape)}")
            g = _core.ones(list(t.shape), t.dtype, t.device)
        seeds.append(g)
    _core._run_backward(list(tensors), seeds, retain_graph)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Checks the analytic gradients of ``fn`` against central finite differences, in float64.

    ``inputs`` are float64 tensors; those with ``requires_grad`` are checked. The outputs are reduced with
    a random cotangent (so every output element matters). Raises AssertionError naming the input and the
    worst element on a mismatch; returns True otherwise.
    """
    for x in inputs:
        if isinstance(x, _core.Tensor) and x.requires_grad and x.dtype != _core.dtype.float64:
            raise TypeError(f"gradcheck: inputs must be float64, got {x.dtype}")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    outs = [o for o in outs if isinstance(o, _core.Tensor) and o.dtype == _core.dtype.float64]
    cotangents = [rng.standard_normal(tuple(o.shape)) for o in outs]

    def scalar(*args):
        with no_grad():
            res = fn(*args)
        res = res if isinstance(res, (tuple, list)) else [res]
        res = [o for o in res if isinstance(o, _core.Tensor) and o.dtype == _core.dtype.float64]
        return sum(float((o.detach().numpy() * c).sum()) for o, c in zip(res, cotangents))

    total = None
    for o, c in zip(outs, cotangents):
        term = (o * _core.from_numpy(np.ascontiguousarray(c))).sum()
        total = term if total is None else total + term
    for x in inputs:
        if isinstance(x, _core.Tensor) and x.requires_grad:
            x.grad = None
    if total is not None and total.requires_grad:
        total.backward()

    for i, x in enumerate(inputs):
        if not (isinstance(x, _core.Tensor) and x.requires_grad):
            continue
        analytic = np.zeros(tuple(x.shape)) if x.grad is None else x.grad.numpy().copy()
        values = x.detach().numpy()  # shares memory with x: perturbing it perturbs the input
        numeric = np.zeros_like(analytic)
        for idx in np.ndindex(*values.shape):
            orig = values[idx]
            values[idx] = orig + eps
            plus = scalar(*inputs)
            values[idx] = orig - eps
            minus = scalar(*inputs)
            values[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            worst = np.unravel_index(np.argmax(err), err.shape)
            raise AssertionError(f"gradcheck: input {i} element {worst}: analytic {analytic[worst]:.8g}, "
                                 f"numeric {numeric[worst]:.8g}")
    return True

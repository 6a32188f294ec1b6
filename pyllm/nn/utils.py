"""Gradient utilities, as ``torch.nn.utils``."""
import math

from .. import _core

Tensor = _core.Tensor


def zero_grad_(parameters, set_to_none=True):
    """Drops each parameter's ``.grad`` (``set_to_none=True``, as PyTorch's default) or fills it with zeros;
    what ``Module.zero_grad`` and ``Optimizer.zero_grad`` do."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            p.grad.zero_()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales the gradients of ``parameters`` in place so that their norm, taken over all of them together,
    is at most ``max_norm``; returns that total norm (before clipping) as a 0-d tensor.

    ``norm_type``: 2, 1 or ``inf`` (also the string ``"inf"``). The norm is accumulated in double by one
    multithreaded pass over all gradients. As in PyTorch, gradients are scaled by
    ``max_norm / (total_norm + 1e-6)`` when that is below 1.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _core.zeros([], _core.dtype.float32)
    total = _core.global_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    clip_coef = float(max_norm) / (total + 1e-6)
    if not clip_coef >= 1.0:  # NaN too: then, as in PyTorch, the gradients become NaN
        for g in grads:
            g.mul_(clip_coef)
    return _core.full([], total, grads[0].dtype, grads[0].device)

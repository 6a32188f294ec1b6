"""Weight initialisation in place, as ``torch.nn.init``: each function fills ``tensor`` (under no_grad) and
returns it. Random draws come from pyllm's generator (``pyllm.manual_seed``) or the ``generator`` given.

>>> import pyllm
>>> w = pyllm.empty(3, 4)
>>> _ = kaiming_uniform_(w, a=5 ** 0.5)     # torch.nn.Linear's weight init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
>>> bool((w.abs() <= 0.5).all())
True
"""
import contextlib
import math

from .._creation import randn, rand
from ..autograd import no_grad

_skip = False


@contextlib.contextmanager
def no_init_weights():
    """Inside this block every function here leaves its tensor as it is (as Hugging Face's
    ``no_init_weights``): a model about to receive a checkpoint's weights is built without drawing millions
    of random numbers it would overwrite. Its weights hold arbitrary values until loaded."""
    global _skip
    previous, _skip = _skip, True
    try:
        yield
    finally:
        _skip = previous


def _fill_from(tensor, values):
    with no_grad():
        tensor.copy_(values)
    return tensor


def _check_float(tensor, name):
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"{name}: expects a floating-point tensor, got {tensor.dtype}")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fills with draws from N(mean, std²)."""
    _check_float(tensor, "normal_")
    if _skip:
        return tensor
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill_from(tensor, randn(tensor.shape, dtype=tensor.dtype, generator=generator) * std + mean)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fills with draws from U(a, b)."""
    _check_float(tensor, "uniform_")
    if _skip:
        return tensor
    if b < a:
        raise ValueError(f"uniform_: expects a <= b, got a={a}, b={b}")
    return _fill_from(tensor, rand(tensor.shape, dtype=tensor.dtype, generator=generator) * (b - a) + a)


def zeros_(tensor):
    if _skip:
        return tensor
    with no_grad():
        tensor.zero_()
    return tensor


def ones_(tensor):
    if _skip:
        return tensor
    with no_grad():
        tensor.fill_(1.0)
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The gain torch recommends for a nonlinearity: 1 for linear/sigmoid, sqrt(2) for relu,
    sqrt(2 / (1 + slope²)) for leaky_relu (slope defaults to 0.01), 5/3 for tanh."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """A (out, in, *kernel) weight: fan_in = in * kernel size, fan_out = out * kernel size."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dims, got shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al.: U(-b, b) with b = gain * sqrt(3 / fan), fan = fan_in or fan_out (``mode``)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan > 0 else 0.0
    return uniform_(tensor, -bound, bound, generator)

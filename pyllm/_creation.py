"""Tensor factories, with PyTorch's signatures: ``pyllm.zeros(2, 3)`` or ``pyllm.zeros((2, 3))``."""
import builtins

import numpy as np

from . import _core

_NUMPY_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}


def _shape(size):
    """``(2, 3)`` from ``zeros(2, 3)`` or ``zeros((2, 3))`` or ``zeros([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return [builtins.int(s) for s in size]


def _dtype(dtype, default=_core.dtype.float32):
    return default if dtype is None else dtype


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, a NumPy array, a scalar or a Tensor).

    The dtype is inferred as PyTorch does: Python floats give float32, ints int64, bools bool.

    >>> tensor([[1, 2], [3, 4]]).dtype
    pyllm.int64
    """
    if isinstance(data, _core.Tensor):
        out = data.detach().clone()
        if dtype is not None:
            out = out.to(dtype)
    else:
        array = np.asarray(data)
        target = _infer_dtype(data, array) if dtype is None else dtype
        if target == _core.dtype.bfloat16:  # NumPy has no bfloat16: go through float32
            out = _core.from_numpy(np.array(array, dtype=np.float32)).to(target)
        else:
            np_dtype = _NUMPY_DTYPES[str(target).split(".")[-1]]
            out = _core.from_numpy(np.array(array, dtype=np_dtype, order="C")).clone()  # own storage
    if requires_grad:
        out.requires_grad = True
    return out


def _infer_dtype(data, array):
    """PyTorch's rules: Python floats -> float32, ints -> int64, bools -> bool; arrays keep their dtype."""
    from_numpy_array = isinstance(data, np.ndarray)
    kind = array.dtype.kind
    if kind == "b":
        return _core.dtype.bool
    if kind in "iu":
        return _core.dtype.int32 if from_numpy_array and array.dtype == np.int32 else _core.dtype.int64
    if kind == "f":
        if from_numpy_array and array.dtype == np.float64:
            return _core.dtype.float64
        if from_numpy_array and array.dtype == np.float16:
            return _core.dtype.float16
        return _core.dtype.float32
    raise TypeError(f"tensor: cannot make a tensor from data of NumPy dtype {array.dtype}")


def empty(*size, dtype=None, device="cpu", requires_grad=False):
    return _finish(_core.empty(_shape(size), _dtype(dtype), _core.device(str(device))), requires_grad)


def zeros(*size, dtype=None, device="cpu", requires_grad=False):
    return _finish(_core.zeros(_shape(size), _dtype(dtype), _core.device(str(device))), requires_grad)


def ones(*size, dtype=None, device="cpu", requires_grad=False):
    return _finish(_core.ones(_shape(size), _dtype(dtype), _core.device(str(device))), requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False):
    if dtype is None:
        dtype = _core.dtype.bool if isinstance(fill_value, builtins.bool) else (
            _core.dtype.int64 if isinstance(fill_value, builtins.int) else _core.dtype.float32)
    return _finish(_core.full(_shape((size,)), builtins.float(fill_value), dtype, _core.device(str(device))),
                   requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """``arange(5)`` -> [0, 1, 2, 3, 4]; int64 unless an argument is a float (then float32)."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, builtins.int) for v in (start, end, step))
        dtype = _core.dtype.int64 if is_int else _core.dtype.float32
    return _finish(_core.arange(builtins.float(start), builtins.float(end), builtins.float(step), dtype,
                                _core.device(str(device))), requires_grad)


def rand(*size, dtype=None, generator=None, requires_grad=False):
    """Uniform on [0, 1); seeded by ``pyllm.manual_seed`` or a ``pyllm.Generator``."""
    return _finish(_core.rand(_shape(size), _dtype(dtype), generator), requires_grad)


def randn(*size, dtype=None, generator=None, requires_grad=False):
    """Standard normal; seeded by ``pyllm.manual_seed`` or a ``pyllm.Generator``."""
    return _finish(_core.randn(_shape(size), _dtype(dtype), generator), requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None):
    """Uniform integers in [low, high): ``randint(10, (2, 3))`` or ``randint(0, 10, (2, 3))``."""
    if size is None:
        low, high, size = 0, low, high
    return _core.randint(builtins.int(low), builtins.int(high), _shape((size,)), _dtype(dtype, _core.dtype.int64),
                         generator)


def _like(t, dtype):
    return t.dtype if dtype is None else dtype


def empty_like(t, dtype=None, requires_grad=False):
    return empty(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=_like(t, dtype), requires_grad=requires_grad)


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad = True
    return t

"""Python-side methods of ``pyllm.Tensor``: the PyTorch method spellings (``x.sum(-1)``, ``x.view(2, -1)``,
``x.to(pyllm.float64)``), ``repr`` and ``tolist``. Each forwards to one functional op."""
import builtins

import numpy as np

from . import _core
from .nn import functional as F

Tensor = _core.Tensor


def _sizes(args):
    """``view(2, 3)`` and ``view((2, 3))`` both -> [2, 3]."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return [builtins.int(a) for a in args]


def _to(self, *args, dtype=None, device=None, copy=False):
    """``t.to(pyllm.float64)``, ``t.to("cpu")``, ``t.to(other_tensor)``; returns self when nothing changes."""
    for a in args:
        if isinstance(a, _core.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, _core.device)):
            device = a
        else:
            raise TypeError(f"to: unexpected argument {a!r}")
    if device is not None and _core.device(str(device)) != self.device:
        raise RuntimeError(f"to: cannot move a tensor to {device}: this build of pyllm has no CUDA backend")
    out = self if dtype is None else self._to_dtype(dtype)
    if copy and out is self:
        out = self.clone()
    return out


def _view(self, *shape):
    """``t.view(2, -1)`` reshapes without copying; ``t.view(pyllm.bfloat16)`` reads the same bytes as another
    dtype of the same element size."""
    if len(shape) == 1 and isinstance(shape[0], _core.dtype):
        return self._view_dtype(shape[0])
    return _core.view(self, _sizes(shape))


def _repr(self):
    if self.dtype == _core.dtype.bfloat16:
        body = np.array2string(self.detach()._to_dtype(_core.dtype.float32).numpy(), separator=", ", prefix="tensor(")
    else:
        body = np.array2string(self.detach().numpy(), separator=", ", prefix="tensor(")
    extras = []
    if self.dtype not in (_core.dtype.float32, _core.dtype.int64, _core.dtype.bool):
        extras.append(f"dtype={self.dtype!r}")
    if self.grad_fn is not None:
        extras.append(f"grad_fn=<{self.grad_fn.name()}>")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _tolist(self):
    t = self.detach()
    if t.dtype in (_core.dtype.bfloat16, _core.dtype.float16):
        t = t._to_dtype(_core.dtype.float32)
    return t.numpy().tolist()


def _array(self, dtype=None, copy=None):
    a = self.numpy()
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    return a.copy() if copy else a


def _max(self, dim=None, keepdim=False):
    return F.max(self, dim, keepdim)


def _min(self, dim=None, keepdim=False):
    return F.min(self, dim, keepdim)


def _transpose_last_two(self):
    if self.ndim < 2:
        return self
    return _core.transpose(self, -2, -1)


def _t(self):
    if self.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dims, got {self.ndim}; use transpose() or mT")
    return _transpose_last_two(self)


_METHODS = {
    "__repr__": _repr,
    "__str__": _repr,
    "__array__": _array,
    "tolist": _tolist,
    "to": _to,
    "cpu": lambda self: self,
    "float": lambda self: self._to_dtype(_core.dtype.float32),
    "double": lambda self: self._to_dtype(_core.dtype.float64),
    "half": lambda self: self._to_dtype(_core.dtype.float16),
    "bfloat16": lambda self: self._to_dtype(_core.dtype.bfloat16),
    "long": lambda self: self._to_dtype(_core.dtype.int64),
    "int": lambda self: self._to_dtype(_core.dtype.int32),
    "bool": lambda self: self._to_dtype(_core.dtype.bool),
    "type_as": lambda self, other: self._to_dtype(other.dtype),
    "is_floating_point": lambda self: self.dtype.is_floating_point,
    # views
    "view": _view,
    "reshape": lambda self, *shape: _core.reshape(self, _sizes(shape)),
    "view_as": lambda self, other: _core.view(self, list(other.shape)),
    "reshape_as": lambda self, other: _core.reshape(self, list(other.shape)),
    "permute": lambda self, *dims: _core.permute(self, _sizes(dims)),
    "transpose": lambda self, dim0, dim1: _core.transpose(self, dim0, dim1),
    "t": _t,
    "T": property(lambda self: _core.permute(self, list(range(self.ndim))[::-1])),
    "mT": property(_transpose_last_two),
    "unsqueeze": lambda self, dim: _core.unsqueeze(self, dim),
    "squeeze": lambda self, dim=None: _core.squeeze(self, dim),
    "expand": lambda self, *sizes: _core.expand(self, _sizes(sizes)),
    "expand_as": lambda self, other: _core.expand(self, list(other.shape)),
    "flatten": lambda self, start_dim=0, end_dim=-1: _core.flatten(self, start_dim, end_dim),
    "split": lambda self, split_size, dim=0: F.split(self, split_size, dim),
    "chunk": lambda self, chunks, dim=0: F.chunk(self, chunks, dim),
    # math
    "add": F.add,
    "sub": F.sub,
    "mul": F.mul,
    "div": F.div,
    "pow": F.pow,
    "matmul": lambda self, other: _core.matmul(self, other),
    "neg": F.neg,
    "__abs__": F.abs,
    "exp": F.exp,
    "log": F.log,
    "sqrt": F.sqrt,
    "rsqrt": F.rsqrt,
    "abs": F.abs,
    "sin": F.sin,
    "cos": F.cos,
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "relu": F.relu,
    "clamp": F.clamp,
    "maximum": F.maximum,
    "minimum": F.minimum,
    "eq": F.eq,
    "ne": F.ne,
    "lt": F.lt,
    "le": F.le,
    "gt": F.gt,
    "ge": F.ge,
    "logical_not": F.logical_not,
    "masked_fill": F.masked_fill,
    "sum": lambda self, dim=None, keepdim=False: F.sum(self, dim, keepdim),
    "mean": lambda self, dim=None, keepdim=False: F.mean(self, dim, keepdim),
    "var": lambda self, dim=None, unbiased=None, keepdim=False, correction=None: F.var(
        self, dim, unbiased, keepdim, correction),
    "max": _max,
    "min": _min,
    "argmax": lambda self, dim=None, keepdim=False: F.argmax(self, dim, keepdim),
    "topk": lambda self, k, dim=-1, largest=True, sorted=True: F.topk(self, k, dim, largest, sorted),
    "all": lambda self: F.eq(F.sum(F.eq(self, 0)), 0),  # 0-d bool: no element is zero
    "any": lambda self: F.gt(F.sum(F.ne(self, 0)), 0),
    "softmax": lambda self, dim: F.softmax(self, dim),
    "log_softmax": lambda self, dim: F.log_softmax(self, dim),
}

def _as_method(fn):
    """Compiled functions do not bind ``self`` when stored on a class; wrap those in a Python function."""
    if isinstance(fn, property) or hasattr(fn, "__get__") and not isinstance(fn, type(len)):
        return fn
    return lambda self, *args, **kwargs: fn(self, *args, **kwargs)


for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _as_method(_fn))

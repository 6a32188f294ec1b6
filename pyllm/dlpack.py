"""DLPack exchange with other frameworks (PyTorch, NumPy, JAX) without copies."""
from . import _core


def from_dlpack(obj):
    """A tensor sharing the memory of ``obj`` (anything with ``__dlpack__``, or a DLPack capsule)."""
    return _core.from_dlpack(obj)

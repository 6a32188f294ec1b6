"""Reading PyTorch's ``torch.save`` files (``pytorch_model.bin``) without PyTorch and without running code.

``torch.load`` unpickles, and unpickling may call any function the file names (``os.system`` included), so
a downloaded checkpoint could run anything. This reader accepts only what a saved state dict needs:

    the file      a zip archive: <name>/data.pkl (the pickle), <name>/data/<key> (each storage's raw bytes,
                  little-endian, usually stored uncompressed), <name>/byteorder, <name>/version, ...
    the pickle    a dict {weight name: tensor}; each tensor is a call
                      torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
                  where ``storage`` is a persistent id ("storage", torch.FloatStorage, key, location, numel)
                  naming the archive's file data/<key>, and ``hooks`` is an empty collections.OrderedDict

The unpickler looks every global up in a fixed table of stand-ins written here (``_GLOBALS``); any other
global -- ``os.system``, ``builtins.eval``, even ``torch.load`` -- raises ``UnsafePickleError`` naming it,
before anything is imported or called. The stand-ins refuse BUILD (setting their state), so a file cannot
change them for the files read after it. Storages of the stored (uncompressed) kind are memory-mapped.

>>> state = load_torch_bin("pytorch_model.bin")          # doctest: +SKIP
>>> state["transformer.wte.weight"].shape                # doctest: +SKIP
(50257, 768)
"""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

from .. import _core
from .safetensors import _bfloat16_from_bits


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that names a global outside the tensor-rebuilding ones this reader allows."""


def _refuse_build(self, state):
    raise UnsafePickleError(f"refusing to modify {self!r}: a pickle may not set the state of an allowed global")


class _Storage:
    """Stand-in for ``torch.<Kind>Storage``: only its element type matters (it is never called)."""
    __slots__ = ("name", "dtype")
    __setstate__ = _refuse_build  # BUILD on a shared stand-in would change it for every later file

    def __init__(self, name, dtype):
        self.name, self.dtype = name, np.dtype(dtype)

    def __repr__(self):
        return f"torch.{self.name}"


class _Callable:
    """Stand-in for an allowed function or class: calls go to ``fn``; BUILD on it is refused."""
    __slots__ = ("name", "fn")
    __setstate__ = _refuse_build

    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.name


_StorageData = collections.namedtuple("_StorageData", ["array", "kind", "where"])

# torch's storage classes -> the NumPy dtype of their bytes (bfloat16 as its uint16 bit patterns).
_STORAGES = {name: _Storage(name, dtype) for name, dtype in [
    ("FloatStorage", "<f4"), ("DoubleStorage", "<f8"), ("HalfStorage", "<f2"), ("BFloat16Storage", "<u2"),
    ("LongStorage", "<i8"), ("IntStorage", "<i4"), ("ShortStorage", "<i2"), ("CharStorage", "i1"),
    ("ByteStorage", "u1"), ("BoolStorage", "?")]}
# NumPy dtypes pyllm has no tensor type for, widened exactly (as the safetensors reader does).
_WIDEN = {np.dtype("i2"): np.dtype("<i4"), np.dtype("i1"): np.dtype("<i4"), np.dtype("u1"): np.dtype("<i4")}


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """``storage`` viewed at ``storage_offset`` with ``size`` and ``stride`` (in elements), as a contiguous
    pyllm tensor; the view is checked to lie inside the storage."""
    if not isinstance(storage, _StorageData):
        raise ValueError(f"malformed tensor: its storage is a {type(storage).__name__}, not a persistent storage")
    array, kind, where = storage
    if not (isinstance(storage_offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)
            and len(size) == len(stride) and all(isinstance(v, int) and v >= 0 for v in size + stride)
            and storage_offset >= 0):
        raise ValueError(f"{where}: malformed tensor (offset {storage_offset!r}, size {size!r}, stride {stride!r})")
    n = int(np.prod(size, dtype=np.int64))
    if n:
        last = storage_offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= array.size:
            raise ValueError(f"{where}: tensor of size {size} and stride {stride} at offset {storage_offset} "
                             f"reads past its storage of {array.size} elements (a corrupt file)")
        view = np.lib.stride_tricks.as_strided(array[storage_offset:], shape=size,
                                               strides=tuple(st * array.itemsize for st in stride))
        contiguous = list(stride) == _contiguous_strides(size)
        view = view if contiguous else np.ascontiguousarray(view)
    else:
        view = np.zeros(size, array.dtype)
    if kind.name == "BFloat16Storage":
        return _bfloat16_from_bits(view)
    if view.dtype in _WIDEN:
        view = view.astype(_WIDEN[view.dtype])
    return _core.from_numpy(view)


def _rebuild_tensor(storage, storage_offset, size, stride):
    """The older form of ``_rebuild_tensor_v2`` (PyTorch < 1.x files)."""
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """A saved ``nn.Parameter``: its data is what a state dict needs."""
    return data


def _contiguous_strides(size):
    strides, step = [], 1
    for s in reversed(size):
        strides.append(step)
        step *= max(s, 1)
    return strides[::-1]


_GLOBALS = {
    **{(module, name): _Callable(f"{module}.{name}", fn) for module, name, fn in [
        ("collections", "OrderedDict", collections.OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2", _rebuild_tensor_v2),
        ("torch._utils", "_rebuild_tensor", _rebuild_tensor),
        ("torch._utils", "_rebuild_parameter", _rebuild_parameter)]},
    **{("torch", name): storage for name, storage in _STORAGES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data, path, read_storage):
        super().__init__(io.BytesIO(data))
        self._path, self._read_storage = path, read_storage

    def find_class(self, module, name):
        if (module, name) not in _GLOBALS:
            raise UnsafePickleError(
                f"{self._path}: refusing to unpickle global {module}.{name}: only the globals torch uses to "
                f"rebuild tensors are allowed ({', '.join(sorted(f'{m}.{n}' for m, n in _GLOBALS))}); the file "
                "may be malicious, or holds more than a state dict")
        return _GLOBALS[(module, name)]

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _Storage) and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise UnsafePickleError(f"{self._path}: unexpected persistent id {pid!r} (expected a torch storage)")
        _, kind, key, _, numel = pid
        return _StorageData(self._read_storage(key, kind, numel), kind, f"{self._path}: storage {key} ({kind!r})")


def load_torch_bin(path):
    """{name: pyllm tensor} of the state dict in the ``torch.save`` zip file at ``path``. Raises
    UnsafePickleError for a pickle naming any global but torch's tensor rebuilding, ValueError for a
    truncated or corrupt file, and for the legacy (pre-zip, PyTorch < 1.6) format."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        hint = (" (it starts like a pickle: the legacy torch.save format of PyTorch < 1.6, which is not "
                "supported; re-save it with a current PyTorch or as safetensors)" if magic[:1] == b"\x80" else "")
        raise ValueError(f"{path}: not a PyTorch zip checkpoint{hint}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path}: corrupt or truncated zip archive ({e})") from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one <name>/data.pkl in the archive, found {pickles or 'none'}")
        prefix = pickles[0][:-len("data.pkl")]
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() != b"little":
            raise ValueError(f"{path}: big-endian checkpoints are not supported")
        storages = {}

        def read_storage(key, kind, numel):
            if key not in storages:
                storages[key] = _storage_array(archive, path, f"{prefix}data/{key}", kind, numel)
            return storages[key]

        try:
            state = _RestrictedUnpickler(_read_member(archive, path, pickles[0]), path, read_storage).load()
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{path}: {e}" if not str(e).startswith(path) else str(e)) from None
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError,
                ValueError) as e:
            raise ValueError(f"{path}: corrupt pickle in {pickles[0]}: {type(e).__name__}: {e}") from None
    if not (isinstance(state, dict) and all(isinstance(k, str) and isinstance(v, _core.Tensor)
                                            for k, v in state.items())):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
    return dict(state)


def _read_member(archive, path, name):
    try:
        return archive.read(name)
    except KeyError:
        raise ValueError(f"{path}: the archive has no {name}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path}: {name} is corrupt or truncated ({e})") from None


def _storage_array(archive, path, name, kind, numel):
    """The storage's elements as a 1-D NumPy array: memory-mapped (copy-on-write) when stored uncompressed,
    else decompressed into memory."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{path}: the archive has no {name} (truncated or corrupt file)") from None
    nbytes = numel * kind.dtype.itemsize
    if info.file_size != nbytes:
        raise ValueError(f"{path}: {name} holds {info.file_size} bytes but {numel} elements of {kind!r} need "
                         f"{nbytes}")
    if nbytes == 0:
        return np.zeros(0, kind.dtype)
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as f:  # the local header: 30 bytes, then the name and the extra field
            f.seek(info.header_offset)
            header = f.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise ValueError(f"{path}: corrupt local header for {name}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        if start + nbytes > os.path.getsize(path):
            raise ValueError(f"{path}: truncated: {name} runs past the end of the file")
        if start % kind.dtype.itemsize == 0:
            return np.memmap(path, dtype=kind.dtype, mode="c", offset=start, shape=(numel,))
        raw = np.fromfile(path, dtype=np.uint8, count=nbytes, offset=start)
        return raw.view(kind.dtype)
    return np.frombuffer(bytearray(_read_member(archive, path, name)), dtype=kind.dtype)

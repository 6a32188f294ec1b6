"""Reading and writing the safetensors format (Hugging Face's weight files), with no dependency but NumPy.

A file is three parts:

    8 bytes      N, the header's length, a little-endian uint64
    N bytes      a JSON object: {"wte.weight": {"dtype": "F32", "shape": [50257, 768], "data_offsets": [0, 154389504]},
                 ..., "__metadata__": {"format": "pt"}}   (optional string -> string metadata), space-padded
    the rest     the tensors' raw little-endian bytes, row-major; data_offsets are [begin, end) into this part,
                 which the tensors cover exactly, without overlaps or holes

>>> import os, tempfile, pyllm
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> save_file({"w": pyllm.tensor([[1.0, 2.0]])}, path, metadata={"step": "3"})
>>> load_file(path)["w"].tolist(), SafetensorsFile(path).metadata()
([[1.0, 2.0]], {'step': '3'})

Loading maps the file into memory copy-on-write: the tensors of pyllm's dtypes (F64 F32 F16 BF16 I64 I32 BOOL)
share its pages (nothing is read until used; writing to a tensor never changes the file). The integer dtypes
pyllm lacks are widened on load, exactly: U8, I8, I16, U16 -> int32 and U32 -> int64 (a copy). U64 and the
8-bit floats (F8_*) raise ValueError. A tensor whose offset is not a multiple of its item size (files written by
some other tools) is copied into aligned memory. ``save_file`` writes tensors largest item size first, so every
tensor of its files is aligned.
"""
import json
import os
import struct

import numpy as np

from .. import _core
from .atomic import atomic_write

Tensor = _core.Tensor

# safetensors dtype name -> (pyllm dtype, NumPy dtype of the stored bytes); BF16 is read as uint16 bit patterns.
_OURS = {
    "F64": (_core.dtype.float64, np.dtype("<f8")),
    "F32": (_core.dtype.float32, np.dtype("<f4")),
    "F16": (_core.dtype.float16, np.dtype("<f2")),
    "BF16": (_core.dtype.bfloat16, np.dtype("<u2")),
    "I64": (_core.dtype.int64, np.dtype("<i8")),
    "I32": (_core.dtype.int32, np.dtype("<i4")),
    "BOOL": (_core.dtype.bool, np.dtype("?")),
}
# Integer dtypes pyllm has no tensor type for -> (stored NumPy dtype, NumPy dtype they are widened to).
_WIDENED = {
    "U8": (np.dtype("u1"), np.dtype("<i4")),
    "I8": (np.dtype("i1"), np.dtype("<i4")),
    "I16": (np.dtype("<i2"), np.dtype("<i4")),
    "U16": (np.dtype("<u2"), np.dtype("<i4")),
    "U32": (np.dtype("<u4"), np.dtype("<i8")),
}
_KNOWN_UNSUPPORTED = {"U64": 8, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "F4": 1, "F6_E2M3": 1, "F6_E3M2": 1,
                      "C64": 8}
_NAME_OF = {ours: name for name, (ours, _) in _OURS.items()}
_MAX_HEADER = 100_000_000  # as the reference implementation: a larger header is a corrupt length field


class SafetensorsError(ValueError):
    """A file that is not valid safetensors (truncated, corrupt header, bad offsets, unknown dtype)."""


class SafetensorsFile:
    """Lazy access to a safetensors file, as ``safetensors.safe_open``: the header is read on opening, a
    tensor's bytes only when ``get`` is called (and then mapped, not read, where its dtype is pyllm's).

    >>> f = SafetensorsFile(path)                          # doctest: +SKIP
    >>> f.keys(), f.get("w").shape                         # doctest: +SKIP
    (['w'], (1, 2))
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        size = os.path.getsize(self.path)
        if size < 8:
            raise SafetensorsError(f"{self.path}: truncated: {size} bytes, too short for the 8-byte header length")
        with open(self.path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > _MAX_HEADER:
                raise SafetensorsError(f"{self.path}: header length {n} is larger than the {_MAX_HEADER}-byte limit "
                                       "(a corrupt or non-safetensors file)")
            if 8 + n > size:
                raise SafetensorsError(f"{self.path}: truncated: the header length is {n} bytes but only "
                                       f"{size - 8} bytes follow it")
            raw = f.read(n)
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{self.path}: the header is not valid JSON: {e}") from None
        if not isinstance(header, dict):
            raise SafetensorsError(f"{self.path}: the header is a JSON {type(header).__name__}, not an object")
        self._metadata = header.pop("__metadata__", None)
        if self._metadata is not None and not (
                isinstance(self._metadata, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in self._metadata.items())):
            raise SafetensorsError(f"{self.path}: __metadata__ must map strings to strings")
        self._data_start = 8 + n
        self._entries = {name: self._check_entry(name, entry) for name, entry in header.items()}
        self._check_layout(size - self._data_start)
        self._buffer = None

    def _check_entry(self, name, entry):
        where = f"{self.path}: tensor {name!r}"
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise SafetensorsError(f"{where}: entry must be an object with dtype, shape and data_offsets, "
                                   f"got {entry!r}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype in _OURS:
            itemsize = _OURS[dtype][1].itemsize
        elif dtype in _WIDENED:
            itemsize = _WIDENED[dtype][0].itemsize
        elif dtype in _KNOWN_UNSUPPORTED:
            raise SafetensorsError(f"{where}: dtype {dtype} has no pyllm equivalent; supported: "
                                   f"{', '.join(list(_OURS) + list(_WIDENED))}")
        else:
            raise SafetensorsError(f"{where}: unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise SafetensorsError(f"{where}: shape must be a list of non-negative integers, got {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise SafetensorsError(f"{where}: data_offsets must be [begin, end] with 0 <= begin <= end, "
                                   f"got {offsets!r}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise SafetensorsError(f"{where}: data_offsets {offsets} span {offsets[1] - offsets[0]} bytes but "
                                   f"{dtype} {shape} needs {nbytes}")
        return dtype, tuple(shape), tuple(offsets)

    def _check_layout(self, data_size):
        """The tensors must tile the data part exactly: in range, no overlaps, no holes (the spec forbids
        holes so that a file cannot hide a second payload)."""
        end = 0
        for name, (_, _, (begin, stop)) in sorted(self._entries.items(), key=lambda e: e[1][2]):
            if stop > data_size:
                raise SafetensorsError(f"{self.path}: tensor {name!r}: data_offsets [{begin}, {stop}] run past the "
                                       f"end of the data ({data_size} bytes; the file is truncated or corrupt)")
            if begin < end:
                raise SafetensorsError(f"{self.path}: tensor {name!r}: data_offsets [{begin}, {stop}] overlap the "
                                       f"previous tensor, which ends at {end}")
            if begin > end:
                raise SafetensorsError(f"{self.path}: tensor {name!r}: a hole of {begin - end} bytes before its "
                                       f"data_offsets [{begin}, {stop}]")
            end = stop
        if end != data_size:
            raise SafetensorsError(f"{self.path}: {data_size - end} bytes after the last tensor are not covered by "
                                   "any tensor")

    def keys(self):
        """Tensor names in the header's order."""
        return list(self._entries)

    def metadata(self):
        """The ``__metadata__`` dictionary (str -> str), or None when the file has none."""
        return None if self._metadata is None else dict(self._metadata)

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)

    def get(self, name):
        """The tensor ``name`` as a pyllm tensor (sharing the file's pages where its dtype is pyllm's)."""
        if name not in self._entries:
            raise KeyError(f"{self.path}: no tensor named {name!r}; the file holds {len(self._entries)}: "
                           f"{', '.join(list(self._entries)[:10])}{' ...' if len(self._entries) > 10 else ''}")
        dtype, shape, (begin, end) = self._entries[name]
        if begin == end:  # empty tensor: nothing to map
            raw = np.zeros(0, np.uint8)
        else:
            if self._buffer is None:
                # Copy-on-write: tensors may be written in place (a model's weights) without touching the file.
                self._buffer = np.memmap(self.path, dtype=np.uint8, mode="c")
            raw = self._buffer[self._data_start + begin:self._data_start + end]
        if dtype in _WIDENED:
            stored, widened = _WIDENED[dtype]
            return _core.from_numpy(raw.view(stored).astype(widened).reshape(shape))
        ours, stored = _OURS[dtype]
        if (self._data_start + begin) % stored.itemsize:
            raw = raw.copy()  # a fresh array is aligned
        array = raw.view(stored).reshape(shape)
        if ours == _core.dtype.bfloat16:
            return _bfloat16_from_bits(array)
        return _core.from_numpy(array)


def load_file(path):
    """{name: tensor} of every tensor in the safetensors file at ``path``, in the header's order."""
    f = SafetensorsFile(path)
    return {name: f.get(name) for name in f.keys()}


def save_file(tensors, path, metadata=None):
    """Writes ``tensors`` ({name: pyllm tensor}) to ``path`` in safetensors format, atomically (a temporary
    file in the same directory, then a rename). ``metadata``: optional {str: str}, stored as ``__metadata__``.
    Non-contiguous tensors are written as their contiguous copy; two names sharing memory (tied weights) are
    written twice, as the format has no aliases."""
    path = os.fspath(path)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"save_file: metadata must be a dict of str -> str, got {metadata!r}")
    header, items = {}, []
    for name, t in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"save_file: tensor names must be strings other than '__metadata__', got {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"save_file: {name!r} is a {type(t).__name__}, not a pyllm.Tensor")
        if str(t.device) != "cpu":
            raise ValueError(f"save_file: {name!r} is on {t.device}; move it to the CPU first")
        items.append((name, t.detach().contiguous()))
    # Largest items first: with the header padded to 8 bytes, every tensor starts at a multiple of its item size.
    items.sort(key=lambda item: (-item[1].element_size(), item[0]))
    offset = 0
    for name, t in items:
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": _NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata is not None:
        header = {"__metadata__": dict(metadata), **header}
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with atomic_write(path) as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, t in items:  # the tensor's own memory, without a copy; bfloat16 passes as same-size float16
            array = (t.view(_core.dtype.float16) if t.dtype == _core.dtype.bfloat16 else t).numpy()
            f.write(array.reshape(-1).view(np.uint8).data)


def _bfloat16_from_bits(bits):
    """A bfloat16 tensor sharing the memory of ``bits``, a uint16 array of bfloat16 bit patterns. NumPy has no
    bfloat16: the bytes enter as float16 (the same size) and are relabelled with ``Tensor.view(dtype)``."""
    return _core.from_numpy(bits.view(np.float16)).view(_core.dtype.bfloat16)

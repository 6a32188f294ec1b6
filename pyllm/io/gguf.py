"""GGUF files (llama.cpp's single-file checkpoints): metadata, tensor table, and dequantization to float32.

A GGUF file (versions 2 and 3; all integers little-endian) is

    magic      b"GGUF"
    version    uint32                      2 or 3 (version 1 used 32-bit counts and is long obsolete)
    counts     uint64 tensor_count, uint64 metadata_kv_count
    metadata   kv_count x (string key, uint32 value type, value)     e.g. "llama.block_count" -> 30
    tensors    tensor_count x (string name, uint32 n_dims, n_dims x uint64 ne, uint32 ggml type, uint64 offset)
    padding    to a multiple of ``general.alignment`` (default 32)
    data       the tensors' bytes; each offset is relative to the start of this part and a multiple of the
               alignment

where a string is a uint64 byte length and UTF-8 bytes, and a value is one of the 13 value types (uint8 ..
float64, bool, string, or an array: uint32 item type, uint64 count, items). ``ne`` lists a tensor's sizes
innermost first (ggml's order): a (rows, cols) matrix is stored as ne = [cols, rows], so the NumPy shape is
``ne`` reversed.

Quantized types store each row in blocks of 32 weights. The three read here (ggml's ``ggml-quants.c``):

    Q8_0   fp16 d, 32 x int8 q                       w = d * q                (34 bytes per block)
    Q4_0   fp16 d, 16 bytes of 4-bit q               w = d * (q - 8)          (18 bytes)
    Q4_1   fp16 d, fp16 m, 16 bytes of 4-bit q       w = d * q + m            (20 bytes)

In Q4_0 and Q4_1, byte j of the 16 holds weight j in its low nibble and weight j + 16 in its high nibble.

>>> import numpy as np
>>> block = np.concatenate([np.array([0.5], "<f2").view(np.uint8),           # d = 0.5
...                         np.array([1.0], "<f2").view(np.uint8),           # m = 1.0
...                         np.full(16, 0x2F, np.uint8)])                    # q = 15 (low), 2 (high)
>>> dequantize(block, "Q4_1", (32,))[[0, 16]].tolist()                       # 0.5*15+1, 0.5*2+1
[8.5, 2.0]

``GGUFFile(path)`` reads the header and maps the data part (copy-on-write); ``get(name)`` dequantizes one
tensor into a float32 pyllm tensor (F32 tensors share the file's pages). ``load_model(path)`` builds a pyllm
``Llama`` and its tokenizer from a llama-architecture file (see ``pyllm.io.gguf_llama``).
"""
import os
import struct

import numpy as np

from .. import _core

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# ggml tensor types: id -> (name, weights per block, bytes per block). Every type ggml defines is listed, so
# that a file's layout can be checked even where pyllm cannot dequantize one of its tensors.
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}
_TYPE_BY_NAME = {name: (name, block, size) for name, block, size in GGML_TYPES.values()}

# Metadata value types: id -> (name, struct format of a scalar); strings (8) and arrays (9) are read apart.
VALUE_TYPES = {0: ("UINT8", "<B"), 1: ("INT8", "<b"), 2: ("UINT16", "<H"), 3: ("INT16", "<h"),
               4: ("UINT32", "<I"), 5: ("INT32", "<i"), 6: ("FLOAT32", "<f"), 7: ("BOOL", "<?"),
               8: ("STRING", None), 9: ("ARRAY", None), 10: ("UINT64", "<Q"), 11: ("INT64", "<q"),
               12: ("FLOAT64", "<d")}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """A file that is not valid GGUF (bad magic, unsupported version, truncated, offsets out of range) or a
    tensor pyllm cannot dequantize."""


# ---- dequantization: raw bytes (uint8) -> float32, vectorised over blocks ----
def _fp16(blocks, start):
    """The fp16 field at byte ``start`` of every block, as a (n_blocks, 1) float32 column."""
    return blocks[:, start:start + 2].view("<f2").astype(np.float32)


def _nibbles(qs):
    """(n_blocks, 16) packed bytes -> (n_blocks, 32) values 0..15: low nibbles are weights 0-15, high 16-31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _q8_0(raw):
    blocks = raw.reshape(-1, 34)
    return _fp16(blocks, 0) * blocks[:, 2:].view(np.int8).astype(np.float32)


def _q4_0(raw):
    blocks = raw.reshape(-1, 18)
    return _fp16(blocks, 0) * (_nibbles(blocks[:, 2:]).astype(np.float32) - 8.0)


def _q4_1(raw):
    blocks = raw.reshape(-1, 20)
    return _fp16(blocks, 0) * _nibbles(blocks[:, 4:]).astype(np.float32) + _fp16(blocks, 2)


def _bf16(raw):
    return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)


_DEQUANTIZE = {
    "F32": lambda raw: raw.view("<f4"),
    "F16": lambda raw: raw.view("<f2").astype(np.float32),
    "BF16": _bf16,
    "Q8_0": _q8_0,
    "Q4_0": _q4_0,
    "Q4_1": _q4_1,
}


def dequantize(raw, ggml_type, shape):
    """float32 array of ``shape`` (NumPy order) from the bytes ``raw`` (a uint8 array) of a tensor of
    ``ggml_type`` (a name such as "Q4_1"). F32 data is returned as a view of ``raw`` where it is aligned."""
    if ggml_type not in _DEQUANTIZE:
        raise GGUFError(f"ggml type {ggml_type} cannot be dequantized by pyllm (supported: "
                        f"{', '.join(_DEQUANTIZE)})")
    _, block, size = _TYPE_BY_NAME[ggml_type]
    raw = np.asarray(raw, dtype=np.uint8).reshape(-1)
    n = int(np.prod(shape, dtype=np.int64))
    if n % block or raw.size != n // block * size:
        raise GGUFError(f"{ggml_type} data of shape {tuple(shape)} needs whole blocks of {block} weights "
                        f"({-(-n // block) * size} bytes), got {raw.size} bytes")
    if ggml_type in ("F32", "F16", "BF16") and raw.ctypes.data % size:
        raw = raw.copy()  # a fresh array is aligned
    return _DEQUANTIZE[ggml_type](raw).reshape(shape)


# ---- the file ----
class _Reader:
    """Sequential little-endian reads from a byte buffer, each checked against its end."""

    def __init__(self, buffer, path):
        self.buffer, self.path, self.pos = buffer, path, 0

    def take(self, n, what):
        if self.pos + n > len(self.buffer):
            raise GGUFError(f"{self.path}: truncated: {what} needs {n} bytes at offset {self.pos}, but the file "
                            f"ends at {len(self.buffer)}")
        out = self.buffer[self.pos:self.pos + n]
        self.pos += n
        return out

    def scalar(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what):
        n = self.scalar("<Q", f"the length of {what}")
        raw = self.take(n, what)
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise GGUFError(f"{self.path}: {what} at offset {self.pos - n} is not valid UTF-8 ({e})") from None

    def value(self, vtype, what):
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            item_type = self.scalar("<I", f"the item type of {what}")
            count = self.scalar("<Q", f"the item count of {what}")
            if item_type not in VALUE_TYPES:
                raise GGUFError(f"{self.path}: {what}: unknown array item type {item_type}")
            if item_type in (_STRING, _ARRAY):
                # Each item takes at least 8 bytes (its length or header): a corrupt count fails here, not
                # after allocating a huge list.
                if count * 8 > len(self.buffer) - self.pos:
                    raise GGUFError(f"{self.path}: truncated: {what} claims {count} items, more than the "
                                    f"{len(self.buffer) - self.pos} bytes left can hold")
                return [self.value(item_type, f"item {i} of {what}") for i in range(count)]
            fmt = VALUE_TYPES[item_type][1]
            raw = self.take(count * struct.calcsize(fmt), f"the {count} items of {what}")
            return np.frombuffer(raw, dtype=np.dtype(fmt)).tolist()
        if vtype not in VALUE_TYPES:
            raise GGUFError(f"{self.path}: {what} has unknown value type {vtype} (known: 0-12)")
        return self.scalar(VALUE_TYPES[vtype][1], what)


class GGUFTensorInfo:
    """One entry of the tensor table: ``name``, ``shape`` (NumPy order), ``ggml_type`` (a name),
    ``offset`` (bytes from the start of the data part) and ``nbytes``."""

    __slots__ = ("name", "shape", "ggml_type", "offset", "nbytes")

    def __init__(self, name, shape, ggml_type, offset, nbytes):
        self.name, self.shape, self.ggml_type, self.offset, self.nbytes = name, shape, ggml_type, offset, nbytes

    def __repr__(self):
        return f"GGUFTensorInfo({self.name!r}, shape={self.shape}, {self.ggml_type}, offset={self.offset})"


class GGUFFile:
    """A GGUF file: ``version``, ``metadata`` ({key: value}; arrays are lists), ``tensors`` ({name:
    GGUFTensorInfo}) and ``get(name)``, the tensor dequantized to float32.

    >>> f = GGUFFile("SmolLM2-135M-Instruct.Q4_1.gguf")              # doctest: +SKIP
    >>> f.metadata["llama.block_count"], f.tensors["blk.0.attn_q.weight"]   # doctest: +SKIP
    (30, GGUFTensorInfo('blk.0.attn_q.weight', shape=(576, 576), Q4_1, offset=32020992))
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        size = os.path.getsize(self.path)
        if size < 4:
            raise GGUFError(f"{self.path}: truncated: {size} bytes, too short for the GGUF magic")
        # Copy-on-write: a model's weights may be modified in place without touching the file.
        self._buffer = np.memmap(self.path, dtype=np.uint8, mode="c")
        r = _Reader(self._buffer, self.path)
        magic = bytes(r.take(4, "the magic"))
        if magic != GGUF_MAGIC:
            raise GGUFError(f"{self.path}: not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})")
        self.version = r.scalar("<I", "the version")
        if self.version not in SUPPORTED_VERSIONS:
            swapped = struct.unpack(">I", struct.pack("<I", self.version))[0]
            hint = " (a big-endian file, which pyllm does not read)" if swapped in SUPPORTED_VERSIONS else ""
            raise GGUFError(f"{self.path}: GGUF version {self.version} is not supported{hint}; pyllm reads "
                            f"versions {' and '.join(map(str, SUPPORTED_VERSIONS))}")
        n_tensors = r.scalar("<Q", "the tensor count")
        n_kv = r.scalar("<Q", "the metadata count")
        self.metadata = {}
        for i in range(n_kv):
            key = r.string(f"metadata key {i}")
            vtype = r.scalar("<I", f"the type of metadata {key!r}")
            self.metadata[key] = r.value(vtype, f"metadata {key!r}")
        self.alignment = self.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(self.alignment, int) or self.alignment <= 0 or self.alignment % 8:
            raise GGUFError(f"{self.path}: general.alignment is {self.alignment!r}; it must be a positive "
                            "multiple of 8")
        infos = [self._read_info(r, i) for i in range(n_tensors)]
        self._data_start = -(-r.pos // self.alignment) * self.alignment
        self.tensors = {}
        for name, shape, ggml_type, offset, nbytes in infos:
            if name in self.tensors:
                raise GGUFError(f"{self.path}: tensor {name!r} appears twice in the tensor table")
            if offset % self.alignment:
                raise GGUFError(f"{self.path}: tensor {name!r}: offset {offset} is not a multiple of the "
                                f"alignment {self.alignment}")
            if self._data_start + offset + nbytes > size:
                raise GGUFError(f"{self.path}: tensor {name!r}: its {nbytes} bytes at data offset {offset} run past "
                                f"the end of the file ({size} bytes; the data part holds "
                                f"{max(size - self._data_start, 0)}): the file is truncated or corrupt")
            self.tensors[name] = GGUFTensorInfo(name, shape, ggml_type, offset, nbytes)

    def _read_info(self, r, i):
        name = r.string(f"the name of tensor {i}")
        n_dims = r.scalar("<I", f"the rank of tensor {name!r}")
        if n_dims > 8:
            raise GGUFError(f"{self.path}: tensor {name!r} has {n_dims} dimensions (ggml allows at most 4)")
        ne = [r.scalar("<Q", f"dimension {d} of tensor {name!r}") for d in range(n_dims)]
        type_id = r.scalar("<I", f"the type of tensor {name!r}")
        offset = r.scalar("<Q", f"the offset of tensor {name!r}")
        if type_id not in GGML_TYPES:
            raise GGUFError(f"{self.path}: tensor {name!r} has unknown ggml type {type_id}")
        ggml_type, block, size = GGML_TYPES[type_id]
        if ne and ne[0] % block:
            raise GGUFError(f"{self.path}: tensor {name!r}: rows of {ne[0]} weights are not whole {ggml_type} "
                            f"blocks of {block}")
        n = int(np.prod(ne, dtype=np.float64))  # float64: a corrupt dimension must not overflow silently
        return name, tuple(reversed(ne)), ggml_type, offset, n // block * size

    def __contains__(self, name):
        return name in self.tensors

    def __len__(self):
        return len(self.tensors)

    def keys(self):
        """Tensor names in the file's order."""
        return list(self.tensors)

    def raw(self, name):
        """The bytes of tensor ``name`` as a uint8 array sharing the file's pages."""
        info = self._info(name)
        start = self._data_start + info.offset
        return self._buffer[start:start + info.nbytes]

    def get_numpy(self, name):
        """Tensor ``name`` dequantized to a float32 NumPy array (a view of the file for aligned F32 data)."""
        info = self._info(name)
        if info.ggml_type not in _DEQUANTIZE:
            raise GGUFError(f"{self.path}: tensor {name!r} has ggml type {info.ggml_type}, which pyllm cannot "
                            f"dequantize (supported: {', '.join(_DEQUANTIZE)})")
        return dequantize(self.raw(name), info.ggml_type, info.shape)

    def get(self, name):
        """Tensor ``name`` dequantized to a float32 pyllm tensor."""
        return _core.from_numpy(self.get_numpy(name))

    def _info(self, name):
        if name not in self.tensors:
            names = list(self.tensors)
            raise KeyError(f"{self.path}: no tensor named {name!r}; the file holds {len(names)}: "
                           f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''}")
        return self.tensors[name]


def load_model(path):
    """``(model, tokenizer)``: the pyllm ``Llama`` and ``BPETokenizer`` of a llama-architecture GGUF file,
    weights dequantized to float32. See ``pyllm.io.gguf_llama`` for the mapping."""
    from .gguf_llama import load_model as load
    return load(path)

"""pyllm.io.safetensors against the reference `safetensors` package: its files load equal in ours, ours load
equal in it, metadata round-trips, and every kind of corrupt file is refused with a message naming the problem."""
import doctest
import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file as ref_load, save_file as ref_save

import pyllm
import pyllm.io.atomic as atomic
import pyllm.io.safetensors as st
from pyllm.io import SafetensorsError, SafetensorsFile, load_file, save_file

TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int32, torch.int64, torch.bool]
WIDENED = {torch.uint8: pyllm.int32, torch.int8: pyllm.int32, torch.int16: pyllm.int32}


def random_torch(rng, dtype, shape):
    if dtype == torch.bool:
        values = rng.integers(0, 2, shape).astype(bool)
    elif dtype.is_floating_point:
        values = rng.standard_normal(shape) * 10
    else:
        info = torch.iinfo(dtype)
        values = rng.integers(info.min, info.max, shape, dtype=np.int64, endpoint=True)
    return torch.from_numpy(np.asarray(values)).to(dtype)


def as_torch(t):
    """A pyllm tensor as a torch tensor of the same dtype, through DLPack (bfloat16 included)."""
    return torch.from_dlpack(t)


def shapes(rng):
    return [(), (0,), (3, 0), tuple(rng.integers(1, 5, 3)), (int(rng.integers(1, 40)),)]


def test_reference_files_load_equal(tmp_path, rng):
    tensors = {f"{str(dtype)[6:]}.{i}": random_torch(rng, dtype, shape)
               for dtype in TORCH_DTYPES + list(WIDENED) for i, shape in enumerate(shapes(rng))}
    ref_save(tensors, tmp_path / "ref.safetensors", metadata={"format": "pt", "note": "ünïcode"})
    ours = load_file(tmp_path / "ref.safetensors")
    assert list(ours) == list(SafetensorsFile(tmp_path / "ref.safetensors").keys())
    assert sorted(ours) == sorted(tensors)
    for name, expected in tensors.items():
        got = ours[name]
        assert tuple(got.shape) == tuple(expected.shape), name
        want_dtype = WIDENED.get(expected.dtype) or getattr(pyllm, str(expected.dtype)[6:])
        assert got.dtype == want_dtype, name
        assert torch.equal(as_torch(got), expected.to(as_torch(got).dtype)), name
    assert SafetensorsFile(tmp_path / "ref.safetensors").metadata() == {"format": "pt", "note": "ünïcode"}


def test_our_files_load_equal_in_reference(tmp_path, rng):
    tensors = {f"t{i}.{str(dtype)[6:]}": random_torch(rng, dtype, shape)
               for dtype in TORCH_DTYPES for i, shape in enumerate(shapes(rng))}
    ours = {name: pyllm.from_dlpack(t) for name, t in tensors.items()}
    save_file(ours, tmp_path / "ours.safetensors", metadata={"step": "12", "config": '{"n": 1}'})
    back = ref_load(tmp_path / "ours.safetensors")
    assert sorted(back) == sorted(tensors)
    for name, expected in tensors.items():
        assert back[name].dtype == expected.dtype and torch.equal(back[name], expected), name
    with safe_open(tmp_path / "ours.safetensors", "pt") as f:
        assert f.metadata() == {"step": "12", "config": '{"n": 1}'}
    assert os.listdir(tmp_path) == ["ours.safetensors"]  # no temporary file left behind


def test_round_trip_noncontiguous_and_zero_copy(tmp_path, rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    t = pyllm.tensor(a).transpose(0, 1)  # not contiguous: written as its contiguous copy
    bf = pyllm.tensor(a[0]).to(pyllm.bfloat16)
    save_file({"t": t, "bf": bf, "odd": pyllm.tensor(a[:1, :3].astype(np.float16))}, tmp_path / "x.safetensors")
    assert SafetensorsFile(tmp_path / "x.safetensors").metadata() is None
    got = load_file(tmp_path / "x.safetensors")
    np.testing.assert_array_equal(got["t"].numpy(), a.T)
    assert torch.equal(as_torch(got["bf"]), torch.from_numpy(a[0]).bfloat16())
    # Loaded tensors map the file's pages (copy-on-write): an in-place write changes the tensor, not the file.
    got["t"].mul_(2.0)
    np.testing.assert_array_equal(load_file(tmp_path / "x.safetensors")["t"].numpy(), a.T)


def test_lazy_access(tmp_path, rng):
    tensors = {"a": torch.from_numpy(rng.standard_normal(5)), "b": torch.from_numpy(rng.integers(0, 9, (2, 2)))}
    ref_save(tensors, tmp_path / "f.safetensors")
    f = SafetensorsFile(tmp_path / "f.safetensors")
    assert sorted(f.keys()) == ["a", "b"] and "a" in f and len(f) == 2
    np.testing.assert_array_equal(f.get("b").numpy(), tensors["b"].numpy())
    with pytest.raises(KeyError, match="no tensor named 'c'"):
        f.get("c")


def test_misaligned_reference_layout_is_copied(tmp_path, rng):
    # One F16 element first puts the F64 tensor at byte offset 2 of the data: it must still load exactly.
    x = rng.standard_normal(3)
    header = {"h": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]},
              "d": {"dtype": "F64", "shape": [3], "data_offsets": [2, 26]}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    data = np.float16(1.5).tobytes() + x.astype("<f8").tobytes()
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    got = load_file(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(got["d"].numpy(), x)
    assert got["h"].tolist() == [1.5]
    np.testing.assert_array_equal(ref_load(tmp_path / "m.safetensors")["d"].numpy(), x)


def write_raw(path, header, data=b"", length=None):
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


@pytest.mark.parametrize("header, data, length, message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None, r"'w'.*run past the end"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"", 10_000, "only .* bytes follow"),
    (b"{not json", b"", None, "not valid JSON"),
    (b"[1, 2]", b"", None, "not an object"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, None, r"'(v|w)'.*overlap"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, None, r"'w'.*hole"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8, None, "not covered"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, None, r"'w'.*needs 12"),
    ({"w": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}}, b"\0", None, r"'w'.*unknown dtype 'Q4'"),
    ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", None, "F8_E4M3 has no pyllm"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None, "non-negative"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, b"\0" * 4, None, "begin <= end"),
    ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, None, "dtype, shape and data_offsets"),
    ({"__metadata__": {"a": 1}}, b"", None, "__metadata__ must map strings"),
    (b"{}", b"", 2**40, "larger than the"),
])
def test_corrupt_files_raise(tmp_path, header, data, length, message):
    path = write_raw(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(SafetensorsError, match=message) as info:
        load_file(path)
    assert "bad.safetensors" in str(info.value)


def test_truncated_reference_file(tmp_path, rng):
    ref_save({"a": torch.from_numpy(rng.standard_normal((8, 8)))}, tmp_path / "full.safetensors")
    raw = (tmp_path / "full.safetensors").read_bytes()
    for cut in (3, 8 + 5, len(raw) - 1):
        (tmp_path / "cut.safetensors").write_bytes(raw[:cut])
        with pytest.raises(SafetensorsError, match="truncated|not valid JSON"):
            load_file(tmp_path / "cut.safetensors")


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match="'w' is a ndarray"):
        save_file({"w": np.zeros(2)}, tmp_path / "a.safetensors")
    with pytest.raises(TypeError, match="metadata must be a dict of str -> str"):
        save_file({"w": pyllm.zeros(2)}, tmp_path / "a.safetensors", metadata={"a": 1})
    with pytest.raises(ValueError, match="other than '__metadata__'"):
        save_file({"__metadata__": pyllm.zeros(2)}, tmp_path / "a.safetensors")
    assert os.listdir(tmp_path) == []


def test_docstring_examples():
    assert doctest.testmod(st).failed == 0
    assert doctest.testmod(atomic).failed == 0


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.atomic_write(path) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]

"""DLPack exchange with PyTorch and NumPy: shared memory both ways, every dtype, strides, lifetimes, the
versioned and legacy capsules, and the errors."""
import ctypes
import gc
import sys

import numpy as np
import pytest
import torch

import pyllm
from util import random_pair

DTYPES = [  # (pyllm, torch) pairs: every pyllm dtype
    (pyllm.float32, torch.float32),
    (pyllm.float64, torch.float64),
    (pyllm.float16, torch.float16),
    (pyllm.bfloat16, torch.bfloat16),
    (pyllm.int32, torch.int32),
    (pyllm.int64, torch.int64),
    (pyllm.bool, torch.bool),
]


def capsule_name(capsule):
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    return get_name(capsule).decode()


def random_torch(rng, shape, dtype):
    values = torch.from_numpy(rng.standard_normal(shape) * 4)
    return values > 0 if dtype == torch.bool else values.to(dtype)


@pytest.mark.parametrize("ours,theirs", DTYPES)
def test_torch_to_pyllm_shares_memory(rng, ours, theirs):
    t = random_torch(rng, (3, 5), theirs)
    p = pyllm.from_dlpack(t)
    assert p.dtype == ours and p.shape == (3, 5)
    assert p.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(np.array(p.float().tolist()), t.float().numpy())
    t[1, 2] = 1  # a write on the torch side shows on ours
    assert p[1, 2].item() == 1


@pytest.mark.parametrize("ours,theirs", DTYPES)
def test_pyllm_to_torch_shares_memory(rng, ours, theirs):
    p = pyllm.from_dlpack(random_torch(rng, (4, 3), theirs).clone())
    t = torch.from_dlpack(p)
    assert t.dtype == theirs and tuple(t.shape) == (4, 3) and t.data_ptr() == p.data_ptr()
    np.testing.assert_array_equal(t.float().numpy(), np.array(p.float().tolist()))
    with pyllm.no_grad():
        p[0, 1] = 0  # a write on our side shows in torch
    assert t[0, 1].item() == 0


def test_numpy_round_trip_shares_memory(rng):
    x, _ = random_pair(rng, (4, 6))
    a = np.from_dlpack(x)
    assert a.ctypes.data == x.data_ptr() and a.dtype == np.float32 and a.flags.writeable
    a[2, 3] = 42.0
    assert x[2, 3].item() == 42.0
    b = rng.standard_normal((5, 2))
    y = pyllm.from_dlpack(b)
    assert y.dtype == pyllm.float64 and y.data_ptr() == b.ctypes.data
    y.fill_(3.0)
    assert (b == 3.0).all()


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int64, np.bool_])
def test_numpy_dtypes(rng, dtype):
    b = (rng.standard_normal((3, 4)) * 5).astype(dtype)
    y = pyllm.from_dlpack(b)
    np.testing.assert_array_equal(y.numpy(), b)
    np.testing.assert_array_equal(np.from_dlpack(y), b)


def test_strided_views_keep_their_strides(rng):
    t = torch.from_numpy(rng.standard_normal((6, 8)).astype(np.float32))
    view = t[1:5:2, ::3].t()  # offset, steps and a transpose
    p = pyllm.from_dlpack(view)
    assert p.shape == tuple(view.shape) and p.stride() == view.stride() and not p.is_contiguous()
    np.testing.assert_array_equal(p.numpy(), view.numpy())
    x, _ = random_pair(rng, (5, 7))
    ours = x[1:, 2::2].transpose(0, 1)
    back = torch.from_dlpack(ours)
    assert tuple(back.stride()) == ours.stride() and back.data_ptr() == ours.data_ptr()
    np.testing.assert_array_equal(back.numpy(), ours.numpy())
    a = np.from_dlpack(ours)
    np.testing.assert_array_equal(a, ours.numpy())


def test_zero_size_and_scalar_tensors():
    for shape in [(0,), (3, 0), ()]:
        p = pyllm.zeros(shape)
        assert tuple(torch.from_dlpack(p).shape) == shape
        assert np.from_dlpack(p).shape == shape
        assert pyllm.from_dlpack(torch.zeros(shape)).shape == shape


def test_data_outlives_the_producer(rng):
    values = rng.standard_normal((100, 10)).astype(np.float32)
    t = torch.from_numpy(values.copy())
    p = pyllm.from_dlpack(t)
    del t
    gc.collect()
    torch.ones(100, 10) * 7  # allocate over the freed memory, were it freed
    np.testing.assert_array_equal(p.numpy(), values)

    x = pyllm.tensor(values)
    back = torch.from_dlpack(x)
    del x
    gc.collect()
    pyllm.ones(100, 10).fill_(7.0)
    np.testing.assert_array_equal(back.numpy(), values)


def test_deleter_runs_when_the_last_view_goes():
    # NumPy's DLPack export holds a reference to the array until the consumer calls the deleter.
    a = np.ones(4)
    refs = sys.getrefcount(a)
    p = pyllm.from_dlpack(a)
    view = p[1:]
    assert sys.getrefcount(a) == refs + 1
    del p
    gc.collect()
    assert sys.getrefcount(a) == refs + 1  # the view still holds it
    del view
    gc.collect()
    assert sys.getrefcount(a) == refs


def test_versioned_and_legacy_capsules(rng):
    x, _ = random_pair(rng, (2, 3))
    legacy = x.__dlpack__()
    versioned = x.__dlpack__(max_version=(1, 0))
    old = x.__dlpack__(max_version=(0, 8))
    assert capsule_name(legacy) == "dltensor" and capsule_name(old) == "dltensor"
    assert capsule_name(versioned) == "dltensor_versioned"
    assert x.__dlpack_device__() == (1, 0)
    for cap in (legacy, versioned):
        y = pyllm.from_dlpack(cap)  # raw capsules of either kind
        assert y.data_ptr() == x.data_ptr()
    assert capsule_name(legacy) == "used_dltensor"
    assert capsule_name(versioned) == "used_dltensor_versioned"
    torch_legacy = torch.utils.dlpack.to_dlpack(torch.arange(3))
    assert pyllm.from_dlpack(torch_legacy).tolist() == [0, 1, 2]


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_capsules_keep_the_tensor_alive_and_release_it(max_version):
    # A NumPy-backed tensor: its storage holds a reference to the array, released with the storage.
    a = np.ones(8)
    refs = sys.getrefcount(a)
    x = pyllm.from_numpy(a)
    unconsumed = x.__dlpack__(max_version=max_version)
    consumed = torch.from_dlpack(x.__dlpack__(max_version=max_version))
    del x
    gc.collect()
    assert sys.getrefcount(a) == refs + 1
    del unconsumed  # the capsule's destructor runs the deleter
    gc.collect()
    assert sys.getrefcount(a) == refs + 1  # torch still shares the memory
    assert consumed.tolist() == [1.0] * 8
    del consumed  # torch runs the deleter
    gc.collect()
    assert sys.getrefcount(a) == refs


def test_consumer_without_max_version_gets_legacy():
    class OldProducer:
        def __init__(self, t):
            self.t = t

        def __dlpack__(self, stream=None):  # rejects max_version with TypeError
            return self.t.__dlpack__()

    t = torch.arange(5.0)
    p = pyllm.from_dlpack(OldProducer(t))
    assert p.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and p.data_ptr() == t.data_ptr()


def test_copy_keyword_and_dl_device():
    x = pyllm.arange(4.0)
    copied = torch.from_dlpack(x.__dlpack__(max_version=(1, 0), copy=True))
    assert copied.data_ptr() != x.data_ptr() and copied.tolist() == x.tolist()
    same = torch.from_dlpack(x.__dlpack__(max_version=(1, 0), dl_device=(1, 0), copy=False))
    assert same.data_ptr() == x.data_ptr()
    with pytest.raises(BufferError, match="DLPack device"):
        x.__dlpack__(dl_device=(2, 0))
    with pytest.raises(ValueError, match="stream must be None"):
        x.__dlpack__(stream=5)


def test_read_only_producer_is_copied():
    buf = np.frombuffer(np.arange(4, dtype=np.float32).tobytes(), dtype=np.float32)
    assert not buf.flags.writeable
    p = pyllm.from_dlpack(buf)
    assert p.tolist() == [0.0, 1.0, 2.0, 3.0] and p.data_ptr() != buf.ctypes.data
    p.fill_(9.0)  # our copy is writable; the read-only buffer is untouched
    assert buf.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_requires_grad_is_refused_like_torch():
    x = pyllm.ones(3, requires_grad=True)
    with pytest.raises(BufferError, match=r"require gradient, use tensor.detach\(\)"):
        x.__dlpack__()
    with pytest.raises(BufferError, match="detach"):
        torch.from_dlpack(x)
    assert torch.from_dlpack(x.detach()).tolist() == [1.0, 1.0, 1.0]


def test_import_errors():
    cap = pyllm.ones(2).__dlpack__()
    pyllm.from_dlpack(cap)
    with pytest.raises(ValueError, match="from_dlpack: this DLPack capsule was already consumed"):
        pyllm.from_dlpack(cap)
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        pyllm.from_dlpack([1, 2, 3])
    with pytest.raises(TypeError, match="from_dlpack: unsupported DLPack dtype"):
        pyllm.from_dlpack(torch.ones(2, dtype=torch.uint8))
    with pytest.raises(TypeError, match="from_dlpack: unsupported DLPack dtype"):
        pyllm.from_dlpack(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="from_dlpack: negative strides"):
        pyllm.from_dlpack(np.arange(5.0)[::-1])

    class OnGpu:
        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kwargs):
            raise AssertionError("not reached: the device is checked first")

    with pytest.raises(RuntimeError, match="from_dlpack: only CPU tensors"):
        pyllm.from_dlpack(OnGpu())


def test_a_rejected_capsule_stays_usable():
    cap = torch.ones(2, dtype=torch.uint8).__dlpack__(max_version=(1, 0))
    with pytest.raises(TypeError, match="unsupported DLPack dtype"):
        pyllm.from_dlpack(cap)
    assert capsule_name(cap) == "dltensor_versioned"  # not consumed: torch can still take it
    assert torch.from_dlpack(cap).tolist() == [1, 1]

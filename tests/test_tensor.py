"""The Tensor object: factories and random numbers, dtype conversions (half types rounded as PyTorch rounds
them), NumPy sharing both ways, and the Python protocol (repr, tolist, item, len, bool, int, float)."""
import builtins
import gc
import sys

import numpy as np
import pytest
import torch

import pyllm
from util import assert_close, random_pair

# ---------------------------------------------------------------- creation


@pytest.mark.parametrize("data,dtype", [
    ([[1.5, 2.0], [3.0, 4.0]], pyllm.float32),
    ([1, 2, 3], pyllm.int64),
    ([True, False], pyllm.bool),
    ([1, 2.5], pyllm.float32),
    (3.25, pyllm.float32),
    (7, pyllm.int64),
    (np.array([1.0, 2.0]), pyllm.float64),
    (np.array([1.0, 2.0], np.float16), pyllm.float16),
    (np.array([1, 2], np.int32), pyllm.int32),
    (np.float32(2.5), pyllm.float32),
])
def test_tensor_infers_dtype_like_torch(data, dtype):
    t = pyllm.tensor(data)
    ref = torch.tensor(data)
    assert t.dtype == dtype and str(ref.dtype).split(".")[-1] == str(dtype).split(".")[-1]
    assert t.shape == tuple(ref.shape)
    assert t.tolist() == ref.tolist()


def test_tensor_copies_its_data(rng):
    a = rng.standard_normal((3, 2))
    t = pyllm.tensor(a)
    a[0, 0] = 100.0
    assert t[0, 0].item() != 100.0 and t.is_contiguous()
    u = pyllm.tensor(t)
    u.fill_(0.0)
    assert t.sum().item() != 0.0
    v = pyllm.tensor(a, dtype=pyllm.bfloat16)
    assert v.dtype == pyllm.bfloat16
    assert_close(v.float(), torch.from_numpy(a).bfloat16().float())
    w = pyllm.tensor([1.0, 2.0], requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_tensor_rejects_bad_data():
    with pytest.raises(TypeError, match="tensor: cannot make a tensor"):
        pyllm.tensor(["a", "b"])
    with pytest.raises(ValueError):
        pyllm.tensor([[1, 2], [3]])


@pytest.mark.parametrize("factory", ["zeros", "ones", "empty"])
def test_shape_factories(factory):
    fn = getattr(pyllm, factory)
    assert fn(2, 3).shape == fn((2, 3)).shape == fn([2, 3]).shape == (2, 3)
    assert fn().shape == fn(()).shape == ()
    assert fn(0, 4).shape == (0, 4) and fn(0, 4).numel() == 0
    t = fn(3, dtype=pyllm.float64)
    assert t.dtype == pyllm.float64 and t.is_contiguous() and t.stride() == (1,)
    assert fn(2, requires_grad=True).requires_grad
    if factory != "empty":
        expect = 0 if factory == "zeros" else 1
        for dtype in [pyllm.float32, pyllm.float16, pyllm.bfloat16, pyllm.int32, pyllm.int64, pyllm.bool]:
            assert fn(2, 2, dtype=dtype).tolist() == [[expect] * 2] * 2
    with pytest.raises(ValueError, match="negative dimension"):
        fn(2, -1)
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        fn(2, device="cuda")


def test_full_and_like_factories(rng):
    assert pyllm.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert pyllm.full((2,), 3).dtype == pyllm.int64
    assert pyllm.full((2,), True).dtype == pyllm.bool
    assert pyllm.full((2,), 7, dtype=pyllm.float16).tolist() == [7.0, 7.0]
    x, _ = random_pair(rng, (3, 4), dtype="float64")
    for fn, value in [(pyllm.zeros_like, 0.0), (pyllm.ones_like, 1.0)]:
        y = fn(x)
        assert y.shape == (3, 4) and y.dtype == pyllm.float64 and (y.numpy() == value).all()
    assert pyllm.full_like(x, 2.5).tolist() == [[2.5] * 4] * 3
    assert pyllm.empty_like(x, dtype=pyllm.int32).dtype == pyllm.int32


@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}),
    ((2, 9), {}),
    ((0, 1, 0.1), {}),
    ((1, 0, -0.25), {}),
    ((-3, 7, 3), {}),
    ((10, 0, -3), {}),
    ((0.5, 5), {"dtype": "int64"}),
    ((5,), {"dtype": "float64"}),
    ((3, 3), {}),
    ((0, 2.5, 0.5), {"dtype": "float64"}),
])
def test_arange_matches_torch(args, kwargs):
    ours = pyllm.arange(*args, **{k: getattr(pyllm, v) for k, v in kwargs.items()})
    theirs = torch.arange(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_arange_errors():
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        pyllm.arange(0, 5, 0)
    with pytest.raises(ValueError, match="arange: the step -1 goes away from end 10"):
        pyllm.arange(0, 10, -1)
    with pytest.raises(ValueError, match="arange: start and end must be finite"):
        pyllm.arange(0, float("inf"))
    with pytest.raises(TypeError, match="arange: bool"):
        pyllm.arange(3, dtype=pyllm.bool)


def test_random_distributions():
    pyllm.manual_seed(1234)
    u = pyllm.rand(200_000).numpy()
    assert u.dtype == np.float32 and u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.002
    ud = pyllm.rand(100_000, dtype=pyllm.float64).numpy()
    assert ud.dtype == np.float64 and 0.0 <= ud.min() and ud.max() < 1.0
    assert len(np.unique(ud)) == len(ud)  # 53 random bits: no collisions at this size
    n = pyllm.randn(200_001).numpy()  # odd count: the last Box-Muller pair is cut
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1.0) < 0.01 and np.isfinite(n).all()
    assert abs((np.abs(n) < 1).mean() - 0.6827) < 0.01
    r = pyllm.randint(-3, 4, (70_000,)).numpy()
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 3
    counts = np.bincount(r + 3)
    assert counts.min() > 9_000 and counts.max() < 11_000
    r32 = pyllm.randint(5, (1000,), dtype=pyllm.int32)
    assert r32.dtype == pyllm.int32 and 0 <= r32.numpy().min() and r32.numpy().max() < 5
    wide = pyllm.randint(-2**63, 2**63 - 1, (1000,)).numpy()  # the full int64 range
    assert (wide < 0).any() and (wide > 0).any()


def test_random_errors():
    with pytest.raises(TypeError, match="rand: dtype must be float32 or float64"):
        pyllm.rand(2, dtype=pyllm.int32)
    with pytest.raises(TypeError, match="randn: dtype must be float32 or float64"):
        pyllm.randn(2, dtype=pyllm.float16)
    with pytest.raises(TypeError, match="randint: dtype must be int32 or int64"):
        pyllm.randint(0, 3, (2,), dtype=pyllm.float32)
    with pytest.raises(ValueError, match=r"randint: low \(5\) must be less than high \(5\)"):
        pyllm.randint(5, 5, (2,))
    with pytest.raises(ValueError, match="randint: .* is out of range for int32"):
        pyllm.randint(0, 2**40, (2,), dtype=pyllm.int32)


def test_manual_seed_and_generators_are_deterministic():
    pyllm.manual_seed(7)
    a = [pyllm.rand(5).tolist(), pyllm.randn(3, 2).tolist(), pyllm.randint(0, 100, (4,)).tolist()]
    pyllm.manual_seed(7)
    b = [pyllm.rand(5).tolist(), pyllm.randn(3, 2).tolist(), pyllm.randint(0, 100, (4,)).tolist()]
    assert a == b and pyllm.initial_seed() == 7
    pyllm.manual_seed(8)
    assert pyllm.rand(5).tolist() != a[0]

    g1, g2 = pyllm.Generator(42), pyllm.Generator(42)
    x1 = pyllm.randn(10, generator=g1).tolist()
    pyllm.rand(100)  # the default generator's draws do not disturb g2
    assert pyllm.randn(10, generator=g2).tolist() == x1
    assert pyllm.randn(10, generator=g1).tolist() != x1  # the stream moved on
    assert g1.initial_seed() == 42 and g1.manual_seed(3) is g1 and g1.get_state() == (3, 0)


def test_generator_state_round_trip():
    g = pyllm.Generator(5)
    pyllm.rand(7, generator=g)
    state = g.get_state()
    assert state == (5, 7)  # (seed, counters used)
    first = pyllm.randn(9, generator=g).tolist()
    g.set_state(state)
    assert pyllm.randn(9, generator=g).tolist() == first
    assert g.get_state() == (5, 7 + 5)  # normal draws take one counter per pair


def test_random_values_do_not_depend_on_thread_count():
    before = pyllm.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            pyllm.set_num_threads(threads)
            g = pyllm.Generator(11)
            results.append([pyllm.rand(100_003, generator=g).numpy().copy(),
                            pyllm.randn(100_003, generator=g).numpy().copy(),
                            pyllm.randint(0, 1000, (100_003,), generator=g).numpy().copy()])
        for other in results[1:]:
            for x, y in zip(results[0], other):
                np.testing.assert_array_equal(x, y)
    finally:
        pyllm.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads: expected a positive thread count"):
        pyllm.set_num_threads(0)

# ---------------------------------------------------------------- dtype conversions


def float32_sweep():
    """Bit patterns across the whole float32 range (every exponent, many mantissas, both signs), plus the
    edges of the half types: their largest finite values, overflow thresholds, subnormals and ties."""
    bits = np.arange(0, 2**32, 65_521, dtype=np.uint64).astype(np.uint32)
    specials = np.array([
        0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65519.99, 65520.0, 65536.0, -65520.0,
        2.0**-14, 2.0**-24, 2.0**-25, 1.5 * 2.0**-25, 2.0**-26, 2.0**-24 * 1.5, 2.0**-24 * 2.5, 6.1e-5,
        1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8, 3.3895314e38, 3.4e38, 1e-40,
    ], dtype=np.float32)
    return np.concatenate([bits.view(np.float32), specials])


@pytest.mark.parametrize("ours,theirs", [(pyllm.float16, torch.float16), (pyllm.bfloat16, torch.bfloat16)])
def test_half_type_rounding_matches_torch(ours, theirs):
    # Round-to-nearest-even, subnormals, overflow to inf, inf and NaN: compared by value and sign (the
    # half -> float32 direction is exact, so this is a bitwise comparison up to NaN payloads).
    x = float32_sweep()
    got = pyllm.from_numpy(x).to(ours).float().numpy()
    want = torch.from_numpy(x).to(theirs).float().numpy()
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    np.testing.assert_array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]))


@pytest.mark.parametrize("ours,theirs", [(pyllm.float16, torch.float16), (pyllm.bfloat16, torch.bfloat16)])
def test_half_types_from_float64_and_ints_match_torch(rng, ours, theirs):
    d = np.concatenate([rng.standard_normal(10_000) * 10.0 ** rng.integers(-8, 6, 10_000), [1e300, -1e-300]])
    np.testing.assert_array_equal(pyllm.from_numpy(d).to(ours).double().numpy(),
                                  torch.from_numpy(d).to(theirs).double().numpy())
    i = rng.integers(-2**62, 2**62, 1000)
    np.testing.assert_array_equal(pyllm.from_numpy(i).to(ours).float().numpy(),
                                  torch.from_numpy(i).to(theirs).float().numpy())


def test_int64_to_float_rounds_once():
    # Through float64 first these would round twice and land one float32 ulp off.
    i = np.array([2**53 + 2**29 + 1, 2**62 + 2**38 + 1, -(2**60) - 2**36 - 1, 2**24 + 1], np.int64)
    np.testing.assert_array_equal(pyllm.from_numpy(i).float().numpy(), torch.from_numpy(i).float().numpy())
    np.testing.assert_array_equal(pyllm.from_numpy(i).double().numpy(), torch.from_numpy(i).double().numpy())


def test_conversions_between_every_dtype(rng):
    # Values every dtype holds (out-of-range float -> int casts are undefined behaviour in C++).
    a = np.concatenate([rng.standard_normal(50) * 100, [0.0, -0.0, 0.5, -0.5, 1.5, -2.5, 60000.0]])
    names = ["float32", "float64", "float16", "bfloat16", "int32", "int64", "bool"]
    for src in names:
        base_t = torch.from_numpy(a).to(getattr(torch, src))
        base_p = pyllm.from_dlpack(base_t.clone())
        for dst in names:
            got = base_p.to(getattr(pyllm, dst))
            want = base_t.to(getattr(torch, dst))
            assert got.dtype == getattr(pyllm, dst)
            assert got.tolist() == pytest.approx(want.tolist(), nan_ok=True), (src, dst)


def test_to_and_dtype_methods(rng):
    x, _ = random_pair(rng, (2, 3))
    assert x.to(pyllm.float32) is x and x.to("cpu") is x
    assert x.to(pyllm.float32, copy=True) is not x
    assert x.double().dtype == pyllm.float64 and x.half().dtype == pyllm.float16
    assert x.bfloat16().dtype == pyllm.bfloat16 and x.long().dtype == pyllm.int64
    assert x.int().dtype == pyllm.int32 and x.bool().dtype == pyllm.bool and x.float() is x
    assert x.to(pyllm.zeros(1, dtype=pyllm.int64)).dtype == pyllm.int64
    assert x.type_as(pyllm.zeros(1, dtype=pyllm.float64)).dtype == pyllm.float64
    assert x.is_floating_point() and not x.long().is_floating_point()
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        x.to("cuda")
    with pytest.raises(TypeError, match="to: unexpected argument"):
        x.to(3)


def test_gradient_flows_through_dtype_conversions(rng):
    x, tx = random_pair(rng, (4, 3), dtype="float64", requires_grad=True)
    (x.float() * x.float()).sum().backward()
    (tx.float() * tx.float()).sum().backward()
    assert x.grad.dtype == pyllm.float64
    assert_close(x.grad, tx.grad, rtol=1e-6, atol=1e-6)
    y = pyllm.tensor([1.5, -2.0], requires_grad=True)
    z = y.bfloat16().float() * 3
    z.sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]
    assert not y.long().requires_grad  # integer results leave the graph

# ---------------------------------------------------------------- NumPy interop


def test_from_numpy_shares_memory_both_ways(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    t = pyllm.from_numpy(a)
    assert t.data_ptr() == a.ctypes.data
    a[1, 2] = 10.0
    assert t[1, 2].item() == 10.0
    t.fill_(2.0)
    assert (a == 2.0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64, np.bool_])
def test_numpy_dtypes_round_trip(rng, dtype):
    a = (rng.standard_normal((2, 5)) * 10).astype(dtype)
    t = pyllm.from_numpy(a)
    back = t.numpy()
    assert back.dtype == a.dtype and back.ctypes.data == a.ctypes.data
    np.testing.assert_array_equal(back, a)
    np.testing.assert_array_equal(np.asarray(t), a)


def test_numpy_and_buffer_protocol_share_memory(rng):
    x, _ = random_pair(rng, (3, 3))
    n = x.numpy()
    b = np.asarray(x)
    m = memoryview(x)
    assert n.ctypes.data == b.ctypes.data == x.data_ptr()
    assert m.format == "f" and m.shape == (3, 3) and not m.readonly
    n[0, 0] = 5.0
    assert x[0, 0].item() == 5.0 and b[0, 0] == 5.0
    with pyllm.no_grad():
        x[2, 2] = -1.0
    assert n[2, 2] == -1.0
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_non_contiguous_arrays_and_views(rng):
    a = rng.standard_normal((6, 8))
    view = a[1::2, ::3]
    t = pyllm.from_numpy(view)
    assert t.stride() == (16, 3) and not t.is_contiguous()
    np.testing.assert_array_equal(t.numpy(), view)
    t.fill_(0.0)
    assert (a[1::2, ::3] == 0).all() and (a[0] != 0).all()
    x = pyllm.tensor(a)
    sub = x[1:, 2::2].transpose(0, 1)
    arr = sub.numpy()
    assert arr.strides == tuple(s * 8 for s in sub.stride())
    np.testing.assert_array_equal(arr, a[1:, 2::2].T)
    np.testing.assert_array_equal(np.asarray(sub), a[1:, 2::2].T)


def test_numpy_lifetimes():
    a = np.arange(1000, dtype=np.float64)
    t = pyllm.from_numpy(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(1000))
    x = pyllm.arange(1000.0)
    n, b = x.numpy(), np.asarray(x)
    del x
    gc.collect()
    pyllm.ones(1000).fill_(9.0)
    np.testing.assert_array_equal(n, np.arange(1000))
    np.testing.assert_array_equal(b, np.arange(1000))
    # The tensor's storage holds exactly one reference to the array, dropped with the last view.
    c = np.ones(4)
    refs = sys.getrefcount(c)
    u = pyllm.from_numpy(c)[1:]
    assert sys.getrefcount(c) == refs + 1
    del u
    gc.collect()
    assert sys.getrefcount(c) == refs


def test_numpy_errors():
    with pytest.raises(TypeError, match="from_numpy: unsupported NumPy dtype uint8"):
        pyllm.from_numpy(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="from_numpy: unsupported NumPy dtype complex64"):
        pyllm.from_numpy(np.zeros(3, np.complex64))
    with pytest.raises(TypeError, match="from_numpy: big-endian"):
        pyllm.from_numpy(np.zeros(3, ">f4"))
    with pytest.raises(ValueError, match="from_numpy: arrays with negative strides"):
        pyllm.from_numpy(np.arange(5.0)[::-1])
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        pyllm.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="NumPy has no bfloat16"):
        pyllm.zeros(2, dtype=pyllm.bfloat16).numpy()
    x = pyllm.ones(2, requires_grad=True)
    for export in (lambda t: t.numpy(), np.asarray):
        with pytest.raises(RuntimeError, match=r"requires grad; use tensor.detach\(\).numpy\(\)"):
            export(x)
    with pytest.raises(BufferError) as info:  # the buffer protocol chains the reason
        memoryview(x)
    assert "requires grad" in str(info.value.__cause__)
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_zero_size_and_scalar_arrays():
    assert pyllm.zeros(0).numpy().shape == (0,)
    assert pyllm.zeros(3, 0).numpy().shape == (3, 0)
    assert pyllm.from_numpy(np.zeros((0, 2))).shape == (0, 2)
    s = pyllm.tensor(2.5)
    assert s.numpy().shape == () and s.numpy() == 2.5
    assert pyllm.from_numpy(np.array(4.0)).item() == 4.0

# ---------------------------------------------------------------- Python protocol


def test_repr_shows_values_dtype_and_autograd():
    assert repr(pyllm.tensor([1.5, -2.0])) == "tensor([ 1.5, -2. ])"
    assert repr(pyllm.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    assert repr(pyllm.tensor(3.0)) == "tensor(3.)"
    assert repr(pyllm.tensor([True])) == "tensor([ True])"
    assert repr(pyllm.tensor([1.0], dtype=pyllm.float64)) == "tensor([1.], dtype=pyllm.float64)"
    assert repr(pyllm.tensor([1.5], dtype=pyllm.bfloat16)) == "tensor([1.5], dtype=pyllm.bfloat16)"
    assert repr(pyllm.tensor([1], dtype=pyllm.int32)) == "tensor([1], dtype=pyllm.int32)"
    x = pyllm.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2.], grad_fn=<MulBackward>)"
    assert str(x) == repr(x)
    assert repr(pyllm.float16) == "pyllm.float16"


def test_tolist_and_item_match_torch(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    assert pyllm.tensor(a).tolist() == torch.from_numpy(a).tolist()
    assert pyllm.tensor(a)[1:, ::2].tolist() == torch.from_numpy(a)[1:, ::2].tolist()
    assert pyllm.tensor(a).half().tolist() == torch.from_numpy(a).half().tolist()
    assert pyllm.tensor(a).bfloat16().tolist() == torch.from_numpy(a).bfloat16().tolist()
    assert pyllm.tensor(2.5).tolist() == 2.5
    for value in [1.25, 7, True]:
        got = pyllm.tensor(value).item()
        assert got == value and type(got) is type(value)
    assert pyllm.tensor([[4]]).item() == 4
    assert pyllm.tensor([0.1], dtype=pyllm.float16).item() == torch.tensor([0.1]).half().item()
    assert pyllm.tensor([0.1], dtype=pyllm.bfloat16).item() == torch.tensor([0.1]).bfloat16().item()
    with pytest.raises(ValueError, match="item: only one-element tensors"):
        pyllm.tensor([1, 2]).item()


def test_len_bool_int_float_index():
    assert len(pyllm.zeros(4, 2)) == 4
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(pyllm.tensor(1.0))
    assert bool(pyllm.tensor([2.0])) and not bool(pyllm.tensor(0)) and not bool(pyllm.tensor([False]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(pyllm.tensor([1.0, 2.0]))
    assert int(pyllm.tensor([2.7])) == 2 and float(pyllm.tensor([3])) == 3.0
    assert [10, 20, 30][pyllm.tensor(1)] == 20  # __index__
    with pytest.raises(TypeError, match="only one-element integer tensors"):
        [1, 2][pyllm.tensor(1.0)]
    with pytest.raises(TypeError, match="only one-element tensors"):
        float(pyllm.tensor([1.0, 2.0]))


def test_geometry_accessors(rng):
    x, t = random_pair(rng, (2, 3, 4))
    v, tv = x[:, 1:, ::2], t[:, 1:, ::2]
    assert v.shape == tuple(tv.shape) and v.size() == tuple(tv.size()) and v.size(-1) == tv.size(-1)
    assert v.stride() == tv.stride() and v.stride(1) == tv.stride(1)
    assert v.storage_offset() == tv.storage_offset() and v.ndim == v.dim() == 3
    assert v.numel() == tv.numel() and v.element_size() == 4 and v.itemsize == 4 and v.nbytes == tv.nbytes
    assert v.is_contiguous() == tv.is_contiguous() and not builtins.bool(v.is_contiguous())
    assert x.device == pyllm.device("cpu") and x.device == "cpu" and str(x.device) == "cpu"
    with pytest.raises(IndexError, match="size: dim 3 is out of range"):
        x.size(3)


def test_view_as_dtype_reinterprets_bytes_like_torch(rng):
    bits = rng.integers(0, 2**15, size=(3, 5), dtype=np.int16)  # positive finite bfloat16/float16 patterns
    ours = pyllm.from_numpy(bits.view(np.float16)).view(pyllm.bfloat16)
    theirs = torch.from_numpy(bits).view(torch.bfloat16)
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
    assert ours.view(pyllm.float16).data_ptr() == ours.data_ptr()  # shares memory, no copy
    i32 = pyllm.from_numpy(rng.standard_normal(4).astype(np.float32)).view(pyllm.int32)
    np.testing.assert_array_equal(i32.numpy(), torch.from_numpy(i32.view(pyllm.float32).numpy()).view(torch.int32).numpy())
    with pytest.raises(TypeError, match="cannot view a float32 tensor as float64: their element sizes differ"):
        pyllm.randn(2).view(pyllm.float64)

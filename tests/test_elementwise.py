"""Elementwise ops: binary arithmetic with broadcasting and Python scalars, comparisons, unary math and
activations; forward and backward vs PyTorch at float32 (contiguous, strided, odd and large sizes,
extreme values), float64 gradcheck for every differentiable op, integer arithmetic and dtype errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b),
    "maximum": (F.maximum, torch.maximum),
    "minimum": (F.minimum, torch.minimum),
    "add_fn": (lambda a, b: F.add(a, b, alpha=2), lambda a, b: torch.add(a, b, alpha=2)),
    "sub_fn": (lambda a, b: F.sub(a, b, alpha=0.5), lambda a, b: torch.sub(a, b, alpha=0.5)),
    "mul_fn": (F.mul, torch.mul),
    "div_fn": (F.div, torch.div),
    "pow_fn": (F.pow, torch.pow),
}

# Inputs where the op is smooth and well conditioned: positive bases for pow, divisors away from 0.
DOMAIN = {"pow": (0.5, 2.0), "pow_fn": (0.5, 2.0)}


def operands(rng, name, shape_a, shape_b, requires_grad=True, noncontiguous=False, dtype="float32"):
    lo, hi = DOMAIN.get(name, (None, None))
    a = random_pair(rng, shape_a, dtype, requires_grad, noncontiguous, low=lo, high=hi)
    if name.startswith("div"):  # a divisor bounded away from zero, either sign
        b_vals = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1.0, 1.0], shape_b)
        from util import pair
        b = pair(b_vals.astype(dtype), requires_grad, noncontiguous)
    else:
        b = random_pair(rng, shape_b, dtype, requires_grad, noncontiguous, low=lo, high=hi)
    return a, b


def check_binary(rng, name, shape_a, shape_b, noncontiguous=False, rtol=None, atol=None):
    ours_fn, torch_fn = BINARY[name]
    (a, ta), (b, tb) = operands(rng, name, shape_a, shape_b, noncontiguous=noncontiguous)
    out, tout = ours_fn(a, b), torch_fn(ta, tb)
    assert_close(out, tout, rtol=rtol, atol=atol)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    assert_close(a.grad, ta.grad, rtol=rtol, atol=atol)
    assert_close(b.grad, tb.grad, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shape_a,shape_b", [
    ((3, 4), (3, 4)),
    ((17,), (17,)),
    ((1,), (1,)),
    ((129,), (1,)),
    ((3, 1, 5), (4, 1)),   # both broadcast
    ((4, 1), (3, 1, 5)),   # the other way round
    ((), (2, 3)),
    ((2, 3), ()),
])
def test_binary_forward_and_backward(rng, name, shape_a, shape_b):
    check_binary(rng, name, shape_a, shape_b)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_non_contiguous_and_large(rng, name):
    check_binary(rng, name, (6, 17), (6, 17), noncontiguous=True)
    check_binary(rng, name, (5, 3, 7), (3, 7), noncontiguous=True)
    # > 64k elements: the parallel paths (flat runs split across threads; broadcast rows)
    check_binary(rng, name, (300, 257), (300, 257))
    check_binary(rng, name, (300, 257), (257,))
    check_binary(rng, name, (257, 1), (257, 300))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_gradcheck(rng, name):
    (a, _), (b, _) = operands(rng, name, (3, 1, 4), (2, 4), dtype="float64")
    assert gradcheck(BINARY[name][0], [a, b])


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
@pytest.mark.parametrize("scalar", [2, 0.5, -1.5, True])
def test_python_scalars_on_either_side(rng, op, scalar):
    if isinstance(scalar, bool) and op not in "+*":  # torch refuses the others for bools
        scalar = 3
    x, tx = random_pair(rng, (3, 5), requires_grad=True, low=0.5, high=2.0)
    fwd = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "**": lambda a, b: a ** b}[op]
    for ours, theirs in [(fwd(x, scalar), fwd(tx, scalar)), (fwd(scalar, x), fwd(scalar, tx))]:
        assert ours.dtype == pyllm.float32
        assert_close(ours, theirs)
        g, tg = random_pair(rng, (3, 5))
        ours.backward(g)
        theirs.backward(tg)
        assert_close(x.grad, tx.grad)
    assert_close(fwd(x, np.float32(scalar)), fwd(tx, float(scalar)))  # NumPy scalars too


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -1.5, 2.5])
def test_pow_scalar_exponents(rng, exponent):
    x, tx = random_pair(rng, (4, 33), requires_grad=True, low=0.1, high=3.0)
    for ours, theirs in [(F.pow(x, exponent), torch.pow(tx, exponent)), (x ** exponent, tx ** exponent)]:
        assert_close(ours, theirs)
        g, tg = random_pair(rng, (4, 33))
        ours.backward(g)
        theirs.backward(tg)
        assert_close(x.grad, tx.grad)
    xd, _ = random_pair(rng, (5,), dtype="float64", requires_grad=True, low=0.1, high=3.0)
    assert gradcheck(lambda t: F.pow(t, exponent), [xd])


def test_pow_gradients_at_special_points():
    # 0 ** 0 and friends: PyTorch's conventions (zero gradient where the exponent is 0, the log term
    # taken as 0 where the base is 0 and the exponent non-negative).
    a = np.array([0.0, 0.0, 2.0, -2.0, 0.5, 1.0], np.float64)
    b = np.array([0.0, 2.0, 0.0, 3.0, -1.5, 0.0], np.float64)
    x, y = pyllm.tensor(a, requires_grad=True), pyllm.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (x ** y).sum().backward()
    (tx ** ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), equal_nan=True)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), equal_nan=True)
    for e in (0.0, 2.0, 0.5):
        x.grad, tx.grad = None, None
        (x ** e).sum().backward()
        (tx ** e).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), equal_nan=True)


def test_maximum_minimum_ties_and_nan():
    a = np.array([1.0, 2.0, np.nan, 0.0, 3.0], np.float32)
    b = np.array([1.0, 1.0, 0.0, np.nan, 4.0], np.float32)
    for ours, theirs in [(F.maximum, torch.maximum), (F.minimum, torch.minimum)]:
        x, y = pyllm.tensor(a, requires_grad=True), pyllm.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        out, tout = ours(x, y), theirs(tx, ty)
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())  # NaN propagates
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # ties split the gradient
        np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())
    assert F.maximum(pyllm.tensor([1, 5]), 3).tolist() == [3, 5]
    assert F.minimum(pyllm.tensor([1.0, 5.0]), 3).tolist() == [1.0, 3.0]


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons(rng, name):
    a = rng.integers(-2, 3, (4, 5)).astype(np.float32)  # small integers: many ties
    b = rng.integers(-2, 3, (5,)).astype(np.float32)
    x, y = pyllm.tensor(a), pyllm.tensor(b)
    tx, ty = torch.from_numpy(a), torch.from_numpy(b)
    out = getattr(F, name)(x, y)
    assert out.dtype == pyllm.bool and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), getattr(torch, name)(tx, ty).numpy())
    np.testing.assert_array_equal(getattr(F, name)(x, 1).numpy(), getattr(torch, name)(tx, 1).numpy())
    np.testing.assert_array_equal(getattr(x, name)(y.long().float()).numpy(), getattr(tx, name)(ty).numpy())
    ops = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}
    np.testing.assert_array_equal(getattr(x, ops[name])(0.0).numpy(), getattr(tx, ops[name])(0.0).numpy())
    ints = pyllm.tensor(a.astype(np.int64))
    np.testing.assert_array_equal(getattr(F, name)(ints, 0).numpy(),
                                  getattr(torch, name)(torch.from_numpy(a.astype(np.int64)), 0).numpy())
    r = getattr(x, name)(y)
    assert r.shape == (4, 5)


def test_bool_ops(rng):
    m = pyllm.tensor(rng.standard_normal(7) > 0)
    tm = torch.from_numpy(m.numpy().copy())
    np.testing.assert_array_equal(F.logical_not(m).numpy(), torch.logical_not(tm).numpy())
    np.testing.assert_array_equal((~m).numpy(), (~tm).numpy())
    np.testing.assert_array_equal((m == m).numpy(), np.ones(7, bool))
    np.testing.assert_array_equal((m != F.logical_not(m)).numpy(), np.ones(7, bool))
    with pytest.raises(TypeError, match="logical_not: expected a bool tensor, got float32"):
        F.logical_not(pyllm.ones(2))
    with pytest.raises(TypeError, match="lt: not supported for bool operands"):
        m < m


UNARY = {
    # name: (ours, torch, input range or None for normal)
    "neg": (F.neg, torch.neg, None),
    "exp": (F.exp, torch.exp, None),
    "log": (F.log, torch.log, (0.05, 5.0)),
    "sqrt": (F.sqrt, torch.sqrt, (0.05, 5.0)),
    "rsqrt": (F.rsqrt, torch.rsqrt, (0.05, 5.0)),
    "abs": (F.abs, torch.abs, None),
    "sin": (F.sin, torch.sin, None),
    "cos": (F.cos, torch.cos, None),
    "tanh": (F.tanh, torch.tanh, None),
    "sigmoid": (F.sigmoid, torch.sigmoid, None),
    "relu": (F.relu, torch.relu, None),
    "gelu": (F.gelu, TF.gelu, None),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh"), None),
    "silu": (F.silu, TF.silu, None),
    "clamp": (lambda t: t.clamp(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7), None),
    "clamp_min": (lambda t: F.clamp(t, min=0.2), lambda t: torch.clamp(t, min=0.2), None),
    "clamp_max": (lambda t: F.clamp(t, max=-0.1), lambda t: torch.clamp(t, max=-0.1), None),
    "method_chain": (lambda t: t.abs().sqrt().neg().exp(), lambda t: t.abs().sqrt().neg().exp(), None),
}


def check_unary(rng, name, shape, noncontiguous=False, scale=1.0):
    ours, theirs, domain = UNARY[name]
    lo, hi = domain or (None, None)
    x, tx = random_pair(rng, shape, requires_grad=True, noncontiguous=noncontiguous, low=lo, high=hi)
    if scale != 1.0 and domain is None:
        with pyllm.no_grad(), torch.no_grad():
            x.copy_(x * scale)
            tx.mul_(scale)
    out, tout = ours(x), theirs(tx)
    assert_close(out, tout)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (1,), (3,), (17, 5), (2, 129)])
def test_unary_forward_and_backward(rng, name, shape):
    check_unary(rng, name, shape)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_non_contiguous_wide_and_large(rng, name):
    check_unary(rng, name, (7, 33), noncontiguous=True)
    check_unary(rng, name, (70_001,), scale=4.0)  # > 64k elements: the parallel path; wider inputs
    check_unary(rng, name, (300, 257), noncontiguous=True)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck(rng, name):
    ours, _, domain = UNARY[name]
    lo, hi = domain or (None, None)
    x, _ = random_pair(rng, (2, 7), dtype="float64", requires_grad=True, low=lo, high=hi)
    if name.startswith("clamp") or name == "relu" or name == "abs":  # stay off the kinks
        with pyllm.no_grad():
            v = x.detach().numpy()
            v[np.abs(v) < 0.01] += 0.05
            for edge in (-0.5, 0.7, 0.2, -0.1):
                v[np.abs(v - edge) < 0.01] += 0.05
    assert gradcheck(ours, [x])


EXTREMES = np.array([-100.0, -88.8, -87.0, -50.0, -20.0, -9.0, -1e-3, -1e-8, 0.0, 1e-8, 1e-3, 0.29, 0.31, 9.0,
                     20.0, 50.0, 88.7, 88.8, 100.0], np.float32)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "silu", "gelu", "gelu_tanh", "relu", "neg", "abs",
                                  "sin", "cos"])
def test_unary_extreme_values(name):
    ours, theirs, _ = UNARY[name]
    x = pyllm.tensor(EXTREMES, requires_grad=True)
    tx = torch.tensor(EXTREMES, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    assert np.isfinite(out.detach().numpy()).sum() == np.isfinite(tout.detach().numpy()).sum()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=2e-6, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=2e-6, atol=1e-12)


def test_specials_inf_nan():
    v = np.array([np.inf, -np.inf, np.nan, -0.0], np.float32)
    for name in ["exp", "tanh", "sigmoid", "relu", "abs", "neg", "silu", "gelu_tanh"]:
        ours, theirs, _ = UNARY[name]
        np.testing.assert_array_equal(ours(pyllm.tensor(v)).numpy(), theirs(torch.tensor(v)).numpy(), err_msg=name)
    np.testing.assert_array_equal(F.log(pyllm.tensor([0.0, -1.0, np.inf])).numpy(),
                                  torch.log(torch.tensor([0.0, -1.0, np.inf])).numpy())
    np.testing.assert_array_equal(F.sqrt(pyllm.tensor([0.0, -1.0])).numpy(), torch.sqrt(torch.tensor([0.0, -1.0])).numpy())
    np.testing.assert_array_equal(F.rsqrt(pyllm.tensor([0.0, np.inf])).numpy(),
                                  torch.rsqrt(torch.tensor([0.0, np.inf])).numpy())


def test_float64_matches_torch(rng):
    x, tx = random_pair(rng, (5, 9), dtype="float64", requires_grad=True)
    y = (F.gelu(x) * F.silu(x) + F.tanh(x) * F.sigmoid(x) - F.exp(x) / (1 + x.abs())).sum()
    ty = (TF.gelu(tx) * TF.silu(tx) + torch.tanh(tx) * torch.sigmoid(tx) - torch.exp(tx) / (1 + tx.abs())).sum()
    assert_close(y, ty, dtype="float64")
    y.backward()
    ty.backward()
    assert_close(x.grad, tx.grad, dtype="float64")


def test_clamp_errors():
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        pyllm.ones(2).clamp()
    with pytest.raises(TypeError, match="clamp: expected input to be float32 or float64"):
        pyllm.ones(2, dtype=pyllm.int64).clamp(0)


def test_integer_arithmetic():
    a = np.array([[7, -3, 0], [2**40, -(2**40), 5]], np.int64)
    b = np.array([2, 5, -1], np.int64)
    for dtype in ("int64", "int32"):
        aa = a if dtype == "int64" else np.array([[7, -3, 0], [2**20, -(2**20), 5]])
        x, y = pyllm.tensor(aa.astype(dtype)), pyllm.tensor(b.astype(dtype))
        tx, ty = torch.from_numpy(aa.astype(dtype)), torch.from_numpy(b.astype(dtype))
        ops = [lambda p, q: p + q, lambda p, q: p - q, lambda p, q: p * q, lambda p, q: p * 3 - 1,
               lambda p, q: 2 - p, lambda p, q: -p, lambda p, q: abs(p)]
        for op, top in [(op, op) for op in ops] + [(F.maximum, torch.maximum), (F.minimum, torch.minimum)]:
            r, tr = op(x, y), top(tx, ty)
            assert r.dtype == getattr(pyllm, dtype) and r.tolist() == tr.tolist()
        q, tq = x / y, tx / ty  # true division gives float32, as in torch
        assert q.dtype == pyllm.float32
        assert_close(q, tq)
        assert_close(x / 2, tx / 2)
    for dtype in ("int32", "int64"):  # overflow wraps around, as in torch
        info = np.iinfo(dtype)
        edge = np.array([info.max, info.min, info.max // 2 + 3], dtype)
        x, tx = pyllm.tensor(edge), torch.from_numpy(edge.copy())
        for op in [lambda t: t + 1, lambda t: t - 2, lambda t: t * 3, lambda t: -t, lambda t: abs(t), lambda t: t * t]:
            assert op(x).tolist() == op(tx).tolist()
    assert (pyllm.tensor([1, 2]) * 2.5).tolist() == [2.5, 5.0]  # a float scalar promotes to float32
    assert (pyllm.tensor([True, False]) + 1).tolist() == [2, 1]  # bool with int scalar -> int64


def test_inplace_operators(rng):
    x, tx = random_pair(rng, (3, 4))
    y, ty = random_pair(rng, (4,))
    ident = id(x)
    x += y
    x -= 0.5
    x *= y
    x /= 2
    tx += ty
    tx -= 0.5
    tx *= ty
    tx /= 2
    assert id(x) == ident
    assert_close(x, tx)
    with pytest.raises(ValueError, match="in-place operation: the result's shape"):
        y += x


def test_dtype_mismatch_and_unsupported_dtypes():
    f32, f64, i64 = pyllm.ones(2), pyllm.ones(2, dtype=pyllm.float64), pyllm.ones(2, dtype=pyllm.int64)
    with pytest.raises(TypeError, match="add: dtypes float32 and float64 differ"):
        f32 + f64
    with pytest.raises(TypeError, match="mul: dtypes int64 and float32 differ"):
        i64 * f32
    with pytest.raises(TypeError, match="maximum: dtypes float32 and int64 differ"):
        F.maximum(f32, i64)
    with pytest.raises(TypeError, match="div: expected float32 or float64 operands, got float16"):
        f32.half() / f32.half()
    with pytest.raises(TypeError, match="pow: expected float32 or float64 operands, got int64"):
        i64 ** i64
    with pytest.raises(TypeError, match=r"exp: not supported for float16 tensors \(a storage type"):
        F.exp(f32.half())
    with pytest.raises(TypeError, match="tanh: not supported for int64 tensors"):
        F.tanh(i64)
    with pytest.raises(ValueError, match=r"add: shapes \(2\) and \(3\) cannot be broadcast"):
        f32 + pyllm.ones(3)
    with pytest.raises(TypeError, match="unsupported operand"):
        f32 + "a"

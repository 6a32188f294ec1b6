"""sum and mean over any dims (every memory layout the kernel distinguishes), their gradients, accuracy on
large inputs, integer sums, and where / masked_fill with broadcasting."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair

# For a (4, 5, 6, 7) input: which (O, R, I) layout each dim set gives the kernel.
DIMS = [
    None,          # all dims
    (),            # empty list: all dims, as torch
    0,             # leading: (1, 4, 210)
    -1,            # trailing: (120, 7, 1)
    2,             # middle: (20, 6, 7)
    (1, 2),        # adjacent middle
    (0, 1),        # leading pair (bias gradients)
    (-2, -1),      # trailing pair, negative
    (0, 2),        # non-adjacent: permuted copy
    (1, 3),        # non-adjacent
    (0, 1, 3),
    (3, 0),        # unsorted
    (0, 1, 2, 3),
]


def reduce_both(ours_fn, theirs_fn, x, tx, dims, keepdim):
    if dims is None:
        return ours_fn(x), theirs_fn(tx)
    return ours_fn(x, dims, keepdim), theirs_fn(tx, dims, keepdim)


@pytest.mark.parametrize("dims", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reduce_forward_and_backward(rng, op, dims, keepdim):
    x, tx = random_pair(rng, (4, 5, 6, 7), requires_grad=True)
    out, tout = reduce_both(getattr(F, op), getattr(torch, op), x, tx, dims, keepdim)
    assert out.shape == tuple(tout.shape)
    assert_close(out, tout, rtol=1e-5, atol=1e-5)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("dims", [0, -1, (1, 2), (0, 2), (0, 1, 2)], ids=str)
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reduce_non_contiguous(rng, op, dims):
    x, tx = random_pair(rng, (6, 5, 9), requires_grad=True, noncontiguous=True)
    for ours_in, theirs_in in [(x, tx), (x[:, 1:, ::2], tx[:, 1:, ::2]), (x.permute(2, 0, 1), tx.permute(2, 0, 1))]:
        out, tout = getattr(ours_in, op)(dims), getattr(theirs_in, op)(dims)
        assert_close(out, tout)
    out, tout = getattr(x.permute(1, 2, 0), op)(dims, True), getattr(tx.permute(1, 2, 0), op)(dims, True)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reduce_size_one_dims_and_odd_sizes(rng, op):
    for shape, dims in [((1, 17, 1), (0, 2)), ((3, 1, 129), (1,)), ((1,), 0), ((129, 1, 3), (0, 2)),
                        ((2, 1, 3, 1), (1, 3)), ((1, 1), None)]:
        x, tx = random_pair(rng, shape, requires_grad=True)
        out, tout = reduce_both(getattr(F, op), getattr(torch, op), x, tx, dims, False)
        assert_close(out, tout)
        out.sum().backward()
        tout.sum().backward()
        assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("dims", [None, 0, 1, (0, 2)], ids=str)
def test_gradcheck(rng, dims):
    x, _ = random_pair(rng, (3, 4, 2), dtype="float64", requires_grad=True)
    for op in (F.sum, F.mean):
        assert gradcheck(lambda t: op(t * t) if dims is None else op(t * t, dims, True), [x])
        assert gradcheck(lambda t: op(t.exp()) if dims is None else op(t.exp(), dims), [x])


@pytest.mark.parametrize("shape,dims", [((4_000_000,), None), ((2000, 3000), 0), ((3000, 2000), 1),
                                        ((50, 40_000, 3), 1), ((3, 1_000_000), 1)], ids=str)
def test_large_reductions_are_accurate(rng, shape, dims):
    # A large positive mean makes naive float32 accumulation drift; compare with a float64 reference.
    a = (rng.standard_normal(shape) + 3.0).astype(np.float32)
    ref = a.astype(np.float64).sum(axis=dims)
    out = pyllm.from_numpy(a).sum(dims).numpy() if dims is not None else pyllm.from_numpy(a).sum().numpy()
    np.testing.assert_allclose(out, ref, rtol=2e-6)
    mean = pyllm.from_numpy(a).mean(dims).numpy() if dims is not None else pyllm.from_numpy(a).mean().numpy()
    np.testing.assert_allclose(mean, a.astype(np.float64).mean(axis=dims), rtol=2e-6)


def test_float64_precision(rng):
    a = rng.standard_normal((1000, 300))
    x = pyllm.from_numpy(a)
    np.testing.assert_allclose(x.sum(0).numpy(), a.sum(0), rtol=1e-12)
    np.testing.assert_allclose(x.mean((0, 1)).item(), a.mean(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_and_bool_sums_give_int64(rng, dtype):
    a = rng.integers(-1000, 1000, (6, 7, 8))
    a = (a > 0) if dtype == "bool" else a.astype(dtype)
    x, tx = pyllm.tensor(a), torch.from_numpy(a.copy())
    for dims in [None, 0, (1, 2), (0, 2), -1]:
        out = x.sum() if dims is None else x.sum(dims)
        tout = tx.sum() if dims is None else tx.sum(dims)
        assert out.dtype == pyllm.int64 and tout.dtype == torch.int64
        assert out.tolist() == tout.tolist()
    big = pyllm.full((3,), 2**31 - 1, dtype=pyllm.int32)
    assert big.sum().item() == 3 * (2**31 - 1)  # accumulates in int64: no int32 overflow
    huge = np.full((2, 3), 2**62, np.int64)  # an int64 overflow wraps around, as in torch
    for dims in (None, 0, 1):
        ours = pyllm.tensor(huge).sum() if dims is None else pyllm.tensor(huge).sum(dims)
        theirs = torch.from_numpy(huge).sum() if dims is None else torch.from_numpy(huge).sum(dims)
        assert ours.tolist() == theirs.tolist()


def test_zero_dim_and_empty_inputs():
    s = pyllm.tensor(2.5, requires_grad=True)
    for dims in (None, 0, -1):
        out = s.sum() if dims is None else s.sum(dims, True)
        assert out.shape == () and out.item() == 2.5
    s.sum(0).backward()
    assert s.grad.item() == 1.0
    assert pyllm.zeros(0).sum().item() == 0.0
    assert np.isnan(pyllm.zeros(0).mean().item())
    assert pyllm.zeros(0, 3).sum(0).tolist() == [0.0] * 3
    assert np.isnan(pyllm.zeros(0, 3).mean(0).numpy()).all()
    assert pyllm.zeros(3, 0).sum(0).shape == (0,)
    assert pyllm.zeros(0, dtype=pyllm.int32).sum().dtype == pyllm.int64


def test_reduce_errors():
    x = pyllm.zeros(2, 3)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range for a 2-d tensor"):
        x.sum(2)
    with pytest.raises(IndexError, match="mean: dim -3 is out of range"):
        x.mean(-3)
    with pytest.raises(ValueError, match="sum: dim 0 appears more than once"):
        x.sum((0, 0))
    with pytest.raises(ValueError, match="mean: dim -2 appears more than once"):
        x.mean((0, -2))
    with pytest.raises(TypeError, match="mean: expected input to be float32 or float64, got int64"):
        pyllm.zeros(2, dtype=pyllm.int64).mean()
    with pytest.raises(TypeError, match="sum: not supported for bfloat16 tensors; convert with .float"):
        pyllm.zeros(2, dtype=pyllm.bfloat16).sum()

# ---------------------------------------------------------------- where / masked_fill


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), (1, 4)), ((3, 1), (4,), ()),
                                    ((2, 1, 5), (3, 1), (2, 3, 5))], ids=str)
def test_where_forward_and_backward(rng, shapes):
    c_shape, a_shape, b_shape = shapes
    cond = rng.standard_normal(c_shape) > 0
    a, ta = random_pair(rng, a_shape, requires_grad=True)
    b, tb = random_pair(rng, b_shape, requires_grad=True)
    out, tout = F.where(pyllm.tensor(cond), a, b), torch.where(torch.from_numpy(cond), ta, tb)
    assert_close(out, tout)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    assert_close(a.grad, ta.grad)
    assert_close(b.grad, tb.grad)


def test_where_non_contiguous_large_dtypes_and_scalars(rng):
    cond = rng.standard_normal((300, 257)) > 0
    a, ta = random_pair(rng, (257, 300), noncontiguous=True)
    b, tb = random_pair(rng, (300, 1))
    assert_close(F.where(pyllm.tensor(cond), a.T, b), torch.where(torch.from_numpy(cond), ta.T, tb))
    c = pyllm.tensor(cond[:3, :4])
    tc = torch.from_numpy(cond[:3, :4].copy())
    ints = np.arange(12).reshape(3, 4)
    assert F.where(c, pyllm.tensor(ints), -1).tolist() == torch.where(tc, torch.tensor(ints), -1).tolist()
    assert F.where(c, 2.5, pyllm.zeros(3, 4)).tolist() == torch.where(tc, 2.5, torch.zeros(3, 4)).tolist()
    assert F.where(c, 1.0, 0.0).tolist() == torch.where(tc, 1.0, 0.0).tolist()
    assert F.where(c, 1, 0).dtype == pyllm.int64
    h = F.where(c, pyllm.ones(3, 4, dtype=pyllm.bfloat16), pyllm.zeros(3, 4, dtype=pyllm.bfloat16))
    assert h.dtype == pyllm.bfloat16 and h.float().tolist() == tc.float().tolist()


def test_where_gradcheck(rng):
    cond = pyllm.tensor(rng.standard_normal((3, 4)) > 0)
    a, _ = random_pair(rng, (3, 4), dtype="float64", requires_grad=True)
    b, _ = random_pair(rng, (4,), dtype="float64", requires_grad=True)
    assert gradcheck(lambda p, q: F.where(cond, p * p, q.exp()), [a, b])


def test_where_errors():
    x = pyllm.ones(3)
    with pytest.raises(TypeError, match="where: the condition must be a bool tensor, got float32"):
        F.where(x, x, x)
    with pytest.raises(TypeError, match="where: dtypes float32 and float64 differ"):
        F.where(x > 0, x, x.double())
    with pytest.raises(ValueError, match=r"where: shapes \(3\) and \(4\) cannot be broadcast"):
        F.where(x > 0, x, pyllm.ones(4))


@pytest.mark.parametrize("mask_shape", [(3, 5), (5,), (3, 1), ()], ids=str)
def test_masked_fill(rng, mask_shape):
    mask = rng.standard_normal(mask_shape) > 0
    x, tx = random_pair(rng, (3, 5), requires_grad=True, noncontiguous=True)
    for value in (-1e9, 0.5, float("-inf")):
        out = F.masked_fill(x, pyllm.tensor(mask), value)
        tout = tx.masked_fill(torch.from_numpy(np.array(mask)), value)
        assert_close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    assert_close(x.grad, tx.grad)
    assert x.masked_fill(pyllm.tensor(mask), 2.0).shape == (3, 5)
    xd, _ = random_pair(rng, (3, 5), dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: F.masked_fill(t * 2, pyllm.tensor(mask), 3.0), [xd])


def test_masked_fill_ints_and_errors():
    x = pyllm.tensor([[1, 2], [3, 4]])
    assert F.masked_fill(x, pyllm.tensor([True, False]), 9).tolist() == [[9, 2], [9, 4]]
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor, got int64"):
        F.masked_fill(x, pyllm.tensor([1, 0]), 0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(1,2,2\) does not broadcast to the input's"):
        F.masked_fill(x, pyllm.ones(1, 2, 2, dtype=pyllm.bool), 0)

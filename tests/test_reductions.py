"""var, max/min (over everything and over a dim), argmax and topk: torch parity for values, indices and
gradients (ties, NaN, keepdim, non-contiguous, odd sizes), numerical soundness of var, float64
gradcheck, errors."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair

VAR_CASES = [((17,), None), ((3, 129), 1), ((3, 129), 0), ((2, 3, 17), (0, 2)), ((2, 3, 17), (1, 2)),
             ((4, 1, 5), (0, 1)), ((1,), 0), ((5, 3, 2, 4), (0, 2)), ((3, 4), (-1, 0)), ((2, 300, 3), 1)]


def _grad_parity(rng, y, ty, x, tx, **tol):
    g, tg = random_pair(rng, tuple(ty.shape))
    y.backward(g)
    ty.backward(tg)
    assert_close(x.grad, tx.grad, **tol)


def _reduced_count(shape, dim):
    return int(np.prod([shape[d] for d in (range(len(shape)) if dim is None else np.atleast_1d(dim))]))


# Corrections below the reduced count (the others are in test_var_without_degrees_of_freedom...).
@pytest.mark.parametrize("shape,dim,correction", [(s, d, c) for s, d in VAR_CASES for c in (0, 1, 2)
                                                  if c < _reduced_count(s, d)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_matches_torch(rng, shape, dim, keepdim, correction):
    x, tx = random_pair(rng, shape, requires_grad=True)
    y = F.var(x, dim, keepdim=keepdim, correction=correction)
    ty = torch.var(tx, dim, keepdim=keepdim, correction=correction)
    assert_close(y, ty)
    _grad_parity(rng, y, ty, x, tx)


def test_var_non_contiguous_and_unbiased_flag(rng):
    x, tx = random_pair(rng, (17, 33), requires_grad=True, noncontiguous=True)
    assert_close(x.var(0, unbiased=False), tx.var(0, unbiased=False))
    _grad_parity(rng, x.var((0, 1)), tx.var((0, 1)), x, tx)


def test_var_is_numerically_sound(rng):
    a = (rng.standard_normal((4, 1000)) * 1e-3 + 1e4).astype("float32")
    exact = a.astype(np.float64).var(1, ddof=1)
    np.testing.assert_allclose(F.var(pyllm.tensor(a), 1).numpy(), exact, rtol=1e-4)
    np.testing.assert_allclose(F.var(pyllm.tensor(a.T.copy()), 0).numpy(), exact, rtol=1e-4)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
def test_var_without_degrees_of_freedom_matches_torch(rng):
    x, tx = random_pair(rng, (3, 1), requires_grad=True)
    assert_close(F.var(x, 1), torch.var(tx, 1))  # 0 / 0 = nan
    assert np.isinf(F.var(pyllm.tensor([1.0, 2.0]), correction=3).item())
    assert np.isnan(F.var(pyllm.zeros(3, 0), 1).numpy()).all()
    assert tuple(F.var(pyllm.zeros(3, 0), 0).shape) == (0,)


@pytest.mark.parametrize("dim", [None, 0, (0, 2)])
def test_var_gradcheck_float64(rng, dim):
    x, _ = random_pair(rng, (3, 4, 5), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: F.var(a, dim), [x])
    assert gradcheck(lambda a: F.var(a, dim, keepdim=True, correction=0), [x])


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("shape", [(1,), (17,), (3, 129), (2, 3, 17), (300, 301)])
def test_max_min_over_everything(rng, name, shape):
    x, tx = random_pair(rng, shape, requires_grad=True, noncontiguous=len(shape) > 1)
    y, ty = getattr(x, name)(), getattr(tx, name)()
    assert_close(y, ty)
    _grad_parity(rng, y, ty, x, tx)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_all_ties_share_the_gradient(name):
    a = np.array([[3.0, -1.0, 3.0], [-1.0, 0.0, 3.0]], dtype=np.float32)
    if name == "min":
        a = -a
    x, tx = pyllm.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    getattr(x, name)().backward()
    getattr(tx, name)().backward()
    assert_close(x.grad, tx.grad)
    np.testing.assert_allclose(x.grad.numpy()[0, 0], 1 / 3)


def test_max_all_propagates_nan_and_its_gradient(rng):
    a = rng.standard_normal(70000).astype(np.float32)  # long enough to be split across threads
    a[[40000, 60000]] = np.nan
    x, tx = pyllm.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert np.isnan(x.max().item()) and np.isnan(x.min().item())
    x.max().backward()
    tx.max().backward()
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("shape,dim", [((17,), 0), ((3, 129), 1), ((3, 129), 0), ((2, 3, 17), 1), ((2, 300, 5), -2),
                                       ((4, 1, 3), 1), ((1, 1), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_a_dim(rng, name, shape, dim, keepdim):
    x, tx = random_pair(rng, shape, requires_grad=True)
    y, ty = getattr(F, name)(x, dim, keepdim), getattr(torch, name)(tx, dim, keepdim)
    assert_close(y.values, ty.values)
    np.testing.assert_array_equal(y.indices.numpy(), ty.indices.numpy())
    assert y.indices.dtype == pyllm.int64
    _grad_parity(rng, y.values, ty.values, x, tx)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1])
def test_max_min_dim_ties_take_the_first_index_and_nan_wins(name, dim):
    a = np.array([[2.0, 5.0, 5.0, 1.0], [1.0, 1.0, 7.0, np.nan], [2.0, np.nan, 7.0, np.nan]], dtype=np.float32)
    a = a if name == "max" else -a
    for arr in (a, np.ascontiguousarray(a.T).T):
        y = getattr(F, name)(pyllm.tensor(arr), dim)
        ty = getattr(torch, name)(torch.from_numpy(arr), dim)
        np.testing.assert_array_equal(y.indices.numpy(), ty.indices.numpy())
        np.testing.assert_array_equal(y.values.numpy(), ty.values.numpy())


def test_max_min_integer_tensors(rng):
    a = rng.integers(-50, 50, size=(5, 7)).astype(np.int32)
    y = F.max(pyllm.tensor(a), 1)
    np.testing.assert_array_equal(y.values.numpy(), a.max(1))
    np.testing.assert_array_equal(y.indices.numpy(), a.argmax(1))
    assert F.min(pyllm.tensor(a)).item() == a.min()


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_gradcheck_float64(rng, name):
    x, _ = random_pair(rng, (3, 4, 5), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: getattr(F, name)(a, 1).values, [x])
    assert gradcheck(lambda a: getattr(F, name)(a, -1, True).values, [x])
    assert gradcheck(lambda a: getattr(F, name)(a), [x])


def test_argmax(rng):
    x, tx = random_pair(rng, (3, 50257))
    np.testing.assert_array_equal(F.argmax(x, 1).numpy(), torch.argmax(tx, 1).numpy())
    np.testing.assert_array_equal(F.argmax(x, 0, keepdim=True).numpy(), torch.argmax(tx, 0, keepdim=True).numpy())
    assert F.argmax(x).item() == torch.argmax(tx).item()
    assert tuple(F.argmax(x, keepdim=True).shape) == tuple(torch.argmax(tx, keepdim=True).shape) == (1, 1)
    a = np.array([[1.0, 3.0, 3.0], [np.nan, 2.0, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(F.argmax(pyllm.tensor(a), 1).numpy(), [1, 0])
    assert F.argmax(pyllm.tensor(a)).item() == torch.argmax(torch.from_numpy(a)).item() == 3
    assert F.argmax(pyllm.tensor([[4, 9, 9]]), -1).tolist() == [1]
    assert x.argmax(dim=1).dtype == pyllm.int64 and not F.argmax(x.requires_grad_(True), 1).requires_grad


@pytest.mark.parametrize("shape,k,dim", [((17,), 5, 0), ((3, 129), 7, 1), ((3, 129), 3, 0), ((2, 17, 3), 17, 1),
                                         ((4, 5), 0, 1), ((2, 3, 50257), 50, -1), ((1,), 1, 0)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(rng, shape, k, dim, largest):
    x, tx = random_pair(rng, shape, requires_grad=True)
    y, ty = F.topk(x, k, dim, largest), torch.topk(tx, k, dim, largest)
    assert_close(y.values, ty.values)
    np.testing.assert_array_equal(y.indices.numpy(), ty.indices.numpy())
    if k:
        _grad_parity(rng, y.values, ty.values, x, tx)


def test_topk_unsorted_holds_the_same_set(rng):
    x, tx = random_pair(rng, (4, 129), noncontiguous=True)
    y, ty = x.topk(9, sorted=False), tx.topk(9, sorted=True)
    np.testing.assert_array_equal(np.sort(y.indices.numpy(), 1), np.sort(ty.indices.numpy(), 1))
    np.testing.assert_allclose(np.sort(y.values.numpy(), 1), np.sort(ty.values.numpy(), 1))


def test_topk_nan_ranks_above_numbers_and_ties_keep_position_order():
    a = np.array([1.0, np.nan, 3.0, 3.0, -2.0], dtype=np.float32)
    y = F.topk(pyllm.tensor(a), 3)
    assert np.isnan(y.values.numpy()[0]) and y.indices.tolist() == [1, 2, 3]
    y = F.topk(pyllm.tensor(a), 2, largest=False)
    ty = torch.topk(torch.from_numpy(a), 2, largest=False)
    assert y.indices.tolist() == ty.indices.tolist() == [4, 0]


def test_topk_gradcheck_float64(rng):
    x, _ = random_pair(rng, (3, 4, 5), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: F.topk(a, 2, 1).values, [x])
    assert gradcheck(lambda a: F.topk(a, 3, -1, largest=False).values, [x])


def test_errors_name_the_op(rng):
    x, _ = random_pair(rng, (3, 4))
    with pytest.raises(ValueError, match=r"topk: k \(5\) is out of range for dim 1 of size 4"):
        F.topk(x, 5)
    with pytest.raises(ValueError, match=r"topk: k \(-1\)"):
        F.topk(x, -1, 0)
    with pytest.raises(ValueError, match="max: cannot reduce an empty tensor"):
        F.max(pyllm.zeros(0, 3))
    with pytest.raises(IndexError, match=r"min: cannot reduce over dim 1 of \(3,0\): it is empty"):
        F.min(pyllm.zeros(3, 0), 1)
    assert tuple(F.max(pyllm.zeros(0, 3), 1).values.shape) == (0,)
    with pytest.raises(IndexError, match="argmax: dim 2"):
        F.argmax(x, 2)
    with pytest.raises(ValueError, match="var: dim -1 appears more than once"):
        F.var(x, (1, -1))
    with pytest.raises(TypeError, match="var"):
        F.var(pyllm.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="max"):
        F.max(pyllm.tensor([True, False]))

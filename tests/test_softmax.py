"""softmax and log_softmax: torch parity (forward and fused backward) over every dim, stability, errors,
float64 gradcheck, and every SIMD path (PYLLM_ISA)."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair, pair, run_under_isa

OPS = [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)]
SHAPES_DIMS = [((1,), 0), ((3,), -1), ((17,), 0), ((129,), 0), ((4, 17), -1), ((4, 17), 0), ((3, 129), 1),
               ((2, 3, 17), 0), ((2, 3, 17), 1), ((2, 3, 17), 2), ((5, 1, 129), 1), ((2, 129, 3), 1),
               ((3, 2, 1, 4), 2), ((1, 200, 70), 1)]


def _check(rng, ours, theirs, shape, dim, noncontiguous=False, scale=1.0, grad_atol=1e-5):
    x, tx = random_pair(rng, shape, requires_grad=True, noncontiguous=noncontiguous)
    if scale != 1.0:
        with pyllm.no_grad():
            x = (x.detach() * scale)
        x.requires_grad = True
        tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_(True)
    y, ty = ours(x, dim), theirs(tx, dim)
    assert_close(y, ty)
    g, tg = random_pair(rng, shape)
    y.backward(g)
    ty.backward(tg)
    assert_close(x.grad, tx.grad, atol=grad_atol)


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("ops", OPS, ids=["softmax", "log_softmax"])
def test_matches_torch_on_every_dim(rng, ops, shape, dim):
    _check(rng, *ops, shape, dim)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("ops", OPS, ids=["softmax", "log_softmax"])
def test_non_contiguous_input(rng, ops, dim):
    _check(rng, *ops, (17, 129), dim, noncontiguous=True)
    _check(rng, *ops, (3, 5, 33), dim, noncontiguous=True)


@pytest.mark.parametrize("ops", OPS, ids=["softmax", "log_softmax"])
def test_long_rows_like_a_vocabulary(rng, ops):
    # log_softmax's gradient g - exp(y) * sum(g) multiplies a sum of 50257 terms (~250) by exp(y), whose
    # float32 y carries ~1e-6 of rounding: both libraries are ~1e-4 from the exact value there.
    _check(rng, *ops, (3, 50257), -1, scale=4.0, grad_atol=2e-4)


@pytest.mark.parametrize("ops", OPS, ids=["softmax", "log_softmax"])
def test_large_logits_do_not_overflow(rng, ops):
    a = rng.standard_normal((4, 33)).astype("float32") * 30 + 1e4
    x, tx = pair(a)
    y = ops[0](x, -1)
    assert np.isfinite(y.numpy()).all()
    assert_close(y, ops[1](tx, -1), atol=1e-4)


def test_masked_entries_get_zero_probability_and_all_masked_rows_are_nan(rng):
    a = rng.standard_normal((3, 9)).astype("float32")
    a[0, ::2] = -np.inf
    a[2, :] = -np.inf
    x, tx = pair(a)
    for ours, theirs in OPS:
        y, ty = ours(x, -1).numpy(), theirs(tx, -1).numpy()
        np.testing.assert_allclose(y[:2], ty[:2], rtol=1e-5, atol=1e-6)
        assert np.isnan(y[2]).all() and np.isnan(ty[2]).all()
    assert (F.softmax(x, -1).numpy()[0, ::2] == 0).all()


def test_nan_in_a_row_makes_the_row_nan(rng):
    a = rng.standard_normal((2, 40)).astype("float32")
    a[1, 17] = np.nan
    for ours, theirs in OPS:
        y = ours(pyllm.tensor(a), 1).numpy()
        assert np.isnan(y[1]).all() and np.isfinite(y[0]).all()
        assert np.isnan(theirs(torch.from_numpy(a), 1).numpy()[1]).all()


def test_rows_sum_to_one(rng):
    x, _ = random_pair(rng, (7, 300, 5))
    np.testing.assert_allclose(F.softmax(x, 1).numpy().sum(1), 1.0, rtol=1e-5)


def test_zero_dim_and_empty_tensors(rng):
    s = pyllm.tensor(2.5)
    assert F.softmax(s, 0).item() == 1.0 and F.log_softmax(s, -1).item() == 0.0
    e = pyllm.zeros(0, 4)
    assert tuple(F.softmax(e, 1).shape) == (0, 4) and tuple(F.log_softmax(e, 0).shape) == (0, 4)


def test_tensor_methods(rng):
    x, tx = random_pair(rng, (3, 17))
    assert_close(x.softmax(0), tx.softmax(0))
    assert_close(x.log_softmax(-1), tx.log_softmax(-1))


@pytest.mark.parametrize("dim", [0, 1, 2])
@pytest.mark.parametrize("ours", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
def test_gradcheck_float64(rng, ours, dim):
    x, _ = random_pair(rng, (3, 4, 5), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: ours(a, dim), [x])


def test_float64_matches_torch_tightly(rng):
    for ours, theirs in OPS:
        x, tx = random_pair(rng, (5, 129), dtype="float64")
        assert_close(ours(x, 1), theirs(tx, 1))


def test_in_place_write_to_the_output_is_caught(rng):
    x, _ = random_pair(rng, (3, 4), requires_grad=True)
    y = F.softmax(x, -1)
    with pyllm.no_grad():
        y.fill_(0.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_errors_name_the_op(rng):
    with pytest.raises(TypeError, match="softmax"):
        F.softmax(pyllm.tensor([1, 2, 3]), 0)
    with pytest.raises(IndexError, match="log_softmax: dim 2"):
        F.log_softmax(pyllm.zeros(3, 4), 2)
    with pytest.raises(IndexError, match="softmax: dim -3"):
        F.softmax(pyllm.zeros(3, 4), -3)


_ISA_SCRIPT = """
import numpy as np, torch, pyllm, pyllm.nn.functional as F
rng = np.random.default_rng(0)
for shape, dim in [((5, 1000), -1), ((3, 77, 9), 1), ((4, 33), 0)]:
    a = rng.standard_normal(shape).astype("float32") * 3
    g = rng.standard_normal(shape).astype("float32")
    for ours, theirs in [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)]:
        x = pyllm.tensor(a, requires_grad=True); tx = torch.tensor(a, requires_grad=True)
        y, ty = ours(x, dim), theirs(tx, dim)
        y.backward(pyllm.tensor(g)); ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_simd_path_matches_torch(isa):
    run_under_isa(isa, _ISA_SCRIPT)

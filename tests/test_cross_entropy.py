"""cross_entropy fused with log_softmax: torch parity for (N, C), (C) with a 0-d target and (N, C, d1, ...),
every reduction, int32/int64 targets, ignore_index, label smoothing (and its interaction with ignored
samples), all-ignored batches, errors, float64 gradcheck, and every SIMD path."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair, run_under_isa

CASES = [((1, 1), (1,)), ((3, 5), (3,)), ((17, 129), (17,)), ((129, 3), (129,)), ((5,), ()), ((129,), ()),
         ((2, 7, 3), (2, 3)), ((3, 17, 2, 5), (3, 2, 5)), ((2, 3, 129), (2, 129)), ((1, 4, 1, 1), (1, 1, 1))]


def _targets(rng, shape, C, dtype="int64", ignore_frac=0.0, ignore_index=-100):
    t = rng.integers(0, C, size=shape)
    if ignore_frac:
        t = np.where(rng.random(shape) < ignore_frac, ignore_index, t)
    return np.asarray(t, dtype=dtype)


def _check(rng, lshape, tshape, reduction="mean", dtype="int64", ignore_frac=0.0, ignore_index=-100,
           smoothing=0.0, noncontiguous=False):
    C = lshape[0] if len(lshape) == 1 else lshape[1]
    x, tx = random_pair(rng, lshape, requires_grad=True, noncontiguous=noncontiguous)
    t = _targets(rng, tshape, C, dtype, ignore_frac, ignore_index)
    kwargs = dict(reduction=reduction, ignore_index=ignore_index, label_smoothing=smoothing)
    loss = F.cross_entropy(x, pyllm.tensor(t), **kwargs)
    tloss = TF.cross_entropy(tx, torch.from_numpy(t).long(), **kwargs)
    assert_close(loss, tloss, rtol=1e-5, atol=1e-5)
    g, tg = random_pair(rng, tuple(tloss.shape))
    loss.backward(g)
    tloss.backward(tg)
    assert_close(x.grad, tx.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lshape,tshape", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch(rng, lshape, tshape, reduction):
    _check(rng, lshape, tshape, reduction)


@pytest.mark.parametrize("lshape,tshape", [((17, 129), (17,)), ((3, 17, 2, 5), (3, 2, 5)), ((129,), ())])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.1, 1.0])
def test_label_smoothing_with_ignored_samples(rng, lshape, tshape, reduction, smoothing):
    _check(rng, lshape, tshape, reduction, ignore_frac=0.3, smoothing=smoothing)
    _check(rng, lshape, tshape, reduction, smoothing=smoothing)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_int32_and_int64_targets(rng, dtype):
    _check(rng, (33, 17), (33,), "mean", dtype=dtype, ignore_frac=0.2)
    _check(rng, (4, 17, 9), (4, 9), "none", dtype=dtype, ignore_frac=0.2)


def test_ignore_index_inside_the_class_range(rng):
    _check(rng, (40, 7), (40,), "mean", ignore_index=0, smoothing=0.2)
    _check(rng, (5, 7, 8), (5, 8), "sum", ignore_index=3)


def test_non_contiguous_logits(rng):
    _check(rng, (33, 17), (33,), "mean", noncontiguous=True, smoothing=0.1)
    _check(rng, (3, 17, 6), (3, 6), "none", noncontiguous=True)


def test_vocabulary_sized_rows(rng):
    _check(rng, (3, 50257), (3,), "mean", smoothing=0.1)
    _check(rng, (2, 50257, 2), (2, 2), "sum")


@pytest.mark.parametrize("lshape,tshape", [((4, 5), (4,)), ((2, 5, 3), (2, 3))])
def test_all_ignored_gives_nan_mean_and_zero_gradient_as_torch(rng, lshape, tshape):
    for smoothing in (0.0, 0.1):
        x, tx = random_pair(rng, lshape, requires_grad=True)
        t = np.full(tshape, -100)
        loss = F.cross_entropy(x, pyllm.tensor(t), label_smoothing=smoothing)
        tloss = TF.cross_entropy(tx, torch.from_numpy(t), label_smoothing=smoothing)
        assert np.isnan(loss.item()) and np.isnan(tloss.item())
        loss.backward()
        tloss.backward()
        assert_close(x.grad, tx.grad)
        assert (x.grad.numpy() == 0).all()
        assert F.cross_entropy(x, pyllm.tensor(t), reduction="sum").item() == 0.0


def test_extreme_logits_stay_finite(rng):
    a = rng.standard_normal((6, 50)).astype("float32") * 50
    a[0, 3] = 1e4
    t = rng.integers(0, 50, 6)
    x, tx = pyllm.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    loss, tloss = F.cross_entropy(x, pyllm.tensor(t)), TF.cross_entropy(tx, torch.from_numpy(t))
    assert np.isfinite(loss.item())
    assert_close(loss, tloss, rtol=1e-5, atol=1e-3)
    loss.backward()
    tloss.backward()
    assert_close(x.grad, tx.grad, atol=1e-6)


@pytest.mark.parametrize("lshape,tshape", [((4, 5), (4,)), ((5,), ()), ((2, 4, 3), (2, 3))])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_gradcheck_float64(rng, lshape, tshape, reduction, smoothing):
    x, _ = random_pair(rng, lshape, dtype="float64", requires_grad=True)
    C = lshape[0] if len(lshape) == 1 else lshape[1]
    t = _targets(rng, tshape, C, ignore_frac=0.25 if tshape else 0.0)
    target = pyllm.tensor(t)
    assert gradcheck(lambda a: F.cross_entropy(a, target, reduction=reduction, label_smoothing=smoothing), [x])


def test_float64_matches_torch_tightly(rng):
    x, tx = random_pair(rng, (9, 13), dtype="float64")
    t = rng.integers(0, 13, 9)
    assert_close(F.cross_entropy(x, pyllm.tensor(t), label_smoothing=0.3),
                 TF.cross_entropy(tx, torch.from_numpy(t), label_smoothing=0.3))


def test_errors_name_the_op_and_the_bad_id(rng):
    x, _ = random_pair(rng, (3, 5))
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of range for 5 classes"):
        F.cross_entropy(x, pyllm.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -1 is out of range for 5 classes"):
        F.cross_entropy(x, pyllm.tensor([0, -1, 1], dtype=pyllm.int32))
    with pytest.raises(IndexError, match="target -100 is out of range"):
        F.cross_entropy(x, pyllm.tensor([0, -100, 1]), ignore_index=-1)
    with pytest.raises(ValueError, match=r"cross_entropy: input \(3,5\) needs a target of shape \(3\), got \(4\)"):
        F.cross_entropy(x, pyllm.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"needs a target of shape \(2,4\)"):
        F.cross_entropy(pyllm.zeros(2, 3, 4), pyllm.tensor([[0, 1, 2]]))
    with pytest.raises(TypeError, match="cross_entropy: target must hold int32 or int64 class ids, got float32"):
        F.cross_entropy(x, pyllm.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="cross_entropy"):
        F.cross_entropy(pyllm.tensor([[1, 2]]), pyllm.tensor([0]))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, pyllm.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(x, pyllm.tensor([0, 1, 2]), reduction="avg")


_ISA_SCRIPT = """
import numpy as np, torch, torch.nn.functional as TF, pyllm, pyllm.nn.functional as F
rng = np.random.default_rng(0)
for lshape, tshape in [((37, 1000), (37,)), ((3, 77, 9), (3, 9))]:
    a = rng.standard_normal(lshape).astype("float32") * 3
    t = rng.integers(0, lshape[1], tshape); t[0] = -100
    for smoothing in (0.0, 0.1):
        x, tx = pyllm.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        loss = F.cross_entropy(x, pyllm.tensor(t), label_smoothing=smoothing)
        tloss = TF.cross_entropy(tx, torch.from_numpy(t), label_smoothing=smoothing)
        loss.backward(); tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_simd_path_matches_torch(isa):
    run_under_isa(isa, _ISA_SCRIPT)

"""embedding and index_select: torch parity forward and backward (scatter-add of repeated ids, padding rows,
int32/int64 ids of any shape, non-contiguous tables, any dim), thread-count independence, gradcheck,
and errors raised before any kernel runs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair


def _check_embedding(rng, V, C, ids_shape, dtype="int64", padding_idx=None, noncontiguous=False):
    w, tw = random_pair(rng, (V, C), requires_grad=True, noncontiguous=noncontiguous)
    ids = rng.integers(0, V, size=ids_shape).astype(dtype)
    y = F.embedding(pyllm.tensor(ids), w, padding_idx)
    ty = TF.embedding(torch.from_numpy(ids).long(), tw, padding_idx)
    assert_close(y, ty)
    g, tg = random_pair(rng, tuple(ty.shape))
    y.backward(g)
    ty.backward(tg)
    assert_close(w.grad, tw.grad)
    return w


@pytest.mark.parametrize("ids_shape", [(), (1,), (5,), (3, 4), (2, 3, 17)])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_embedding_matches_torch(rng, ids_shape, dtype):
    _check_embedding(rng, 7, 17, ids_shape, dtype)


def test_repeated_ids_accumulate(rng):
    _check_embedding(rng, 3, 129, (200,))


@pytest.mark.parametrize("padding_idx", [0, 4, -1, -7])
def test_padding_row_gets_no_gradient(rng, padding_idx):
    w = _check_embedding(rng, 7, 5, (40,), padding_idx=padding_idx)
    assert (w.grad.numpy()[padding_idx] == 0).all()


def test_non_contiguous_weight(rng):
    _check_embedding(rng, 17, 33, (6, 5), noncontiguous=True)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_large_table_scatter_is_race_free(rng, threads):
    old = pyllm.get_num_threads()
    pyllm.set_num_threads(threads)
    try:
        _check_embedding(rng, 1000, 129, (64, 80), padding_idx=3)
        _check_embedding(rng, 50, 3, (5000,))
    finally:
        pyllm.set_num_threads(old)


def test_embedding_gradcheck_float64(rng):
    w, _ = random_pair(rng, (5, 3), dtype="float64", requires_grad=True)
    ids = pyllm.tensor(rng.integers(0, 5, size=(2, 4)))
    assert gradcheck(lambda t: F.embedding(ids, t), [w])  # (padding_idx is not a true gradient: not checked)


def test_embedding_errors_before_any_kernel(rng):
    w, _ = random_pair(rng, (5, 3), requires_grad=True)
    with pytest.raises(IndexError, match=r"embedding: id 5 is out of range for a weight with 5 rows"):
        F.embedding(pyllm.tensor([[0, 5]]), w)
    with pytest.raises(IndexError, match=r"embedding: id -1 is out of range"):
        F.embedding(pyllm.tensor([-1], dtype=pyllm.int32), w)
    with pytest.raises(ValueError, match="embedding: padding_idx 5 is out of range for a weight with 5 rows"):
        F.embedding(pyllm.tensor([0]), w, padding_idx=5)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D"):
        F.embedding(pyllm.tensor([0]), pyllm.ones(5))
    with pytest.raises(TypeError, match="embedding: input must hold int32 or int64 ids, got float32"):
        F.embedding(pyllm.tensor([0.0]), w)
    with pytest.raises(TypeError, match="embedding"):
        F.embedding(pyllm.tensor([0]), pyllm.tensor([[1, 2]]))
    assert w.grad is None


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((5, 17), 0), ((5, 17), 1), ((3, 4, 129), 1), ((3, 4, 5), -1),
                                       ((2, 3, 4, 5), 2), ((1, 1), 1)])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_index_select_matches_torch(rng, shape, dim, dtype):
    x, tx = random_pair(rng, shape, requires_grad=True)
    idx = rng.integers(0, shape[dim], size=2 * shape[dim] + 1).astype(dtype)  # with repeats
    y = F.index_select(x, dim, pyllm.tensor(idx))
    ty = torch.index_select(tx, dim, torch.from_numpy(idx).long())
    assert_close(y, ty)
    g, tg = random_pair(rng, tuple(ty.shape))
    y.backward(g)
    ty.backward(tg)
    assert_close(x.grad, tx.grad)


def test_index_select_non_contiguous_and_0d_index(rng):
    x, tx = random_pair(rng, (17, 9), requires_grad=True, noncontiguous=True)
    y, ty = F.index_select(x, 1, pyllm.tensor(4)), torch.index_select(tx, 1, torch.tensor(4))
    assert_close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    assert_close(x.grad, tx.grad)


def test_index_select_integer_input_and_empty_index(rng):
    a = rng.integers(-5, 5, size=(4, 6))
    idx = np.array([5, 0, 0])
    np.testing.assert_array_equal(F.index_select(pyllm.tensor(a), 1, pyllm.tensor(idx)).numpy(), a[:, idx])
    x, tx = random_pair(rng, (4, 6), requires_grad=True)
    y = F.index_select(x, 0, pyllm.tensor(np.zeros(0, dtype=np.int64)))
    assert tuple(y.shape) == (0, 6)
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()


def test_index_select_gradcheck_float64(rng):
    x, _ = random_pair(rng, (3, 4, 5), dtype="float64", requires_grad=True)
    idx = pyllm.tensor([2, 0, 2, 4])
    assert gradcheck(lambda t: F.index_select(t, 2, idx), [x])
    assert gradcheck(lambda t: F.index_select(t, 0, pyllm.tensor([1, 1])), [x])


def test_index_select_errors(rng):
    x, _ = random_pair(rng, (3, 4))
    with pytest.raises(IndexError, match=r"index_select: index 4 is out of range for dim 1 of size 4 in \(3,4\)"):
        F.index_select(x, 1, pyllm.tensor([0, 4]))
    with pytest.raises(IndexError, match="index_select: index -1 is out of range"):
        F.index_select(x, 0, pyllm.tensor([-1]))
    with pytest.raises(IndexError, match="index_select: index must be 1-D"):
        F.index_select(x, 0, pyllm.tensor([[0]]))
    with pytest.raises(IndexError, match="index_select: dim 2"):
        F.index_select(x, 2, pyllm.tensor([0]))
    with pytest.raises(TypeError, match="index_select: index must be int32 or int64, got float32"):
        F.index_select(x, 0, pyllm.tensor([0.0]))

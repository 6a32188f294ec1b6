"""Joining and splitting: cat, stack, split (by size and by sections), chunk, vs PyTorch."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair


def backward_pair(rng, ours, theirs):
    """Backward through both results with the same random cotangent."""
    g, tg = random_pair(rng, tuple(theirs.shape))
    ours.backward(g)
    theirs.backward(tg)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_cat_forward_and_backward(rng, dim, noncontiguous):
    shapes = [[3, 4, 5], [3, 4, 5], [3, 4, 5]]
    sizes = [2 if noncontiguous else 1, 3, 17]  # a size-1 last dim would be contiguous anyway
    pairs = []
    for i, s in enumerate(sizes):
        shape = list(shapes[i])
        shape[dim] = s
        pairs.append(random_pair(rng, tuple(shape), requires_grad=True, noncontiguous=noncontiguous))
    out = F.cat([p for p, _ in pairs], dim)
    tout = torch.cat([t for _, t in pairs], dim)
    assert_close(out, tout)
    assert out.is_contiguous()
    backward_pair(rng, out, tout)
    for p, t in pairs:
        assert_close(p.grad, t.grad)


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16", "int32", "int64", "bool"])
def test_cat_every_dtype(rng, dtype):
    a = rng.standard_normal((2, 3)) * 10
    b = rng.standard_normal((4, 3)) * 10
    tdtype = getattr(torch, dtype)
    ta, tb = torch.from_numpy(a).to(tdtype), torch.from_numpy(b).to(tdtype)
    pdtype = getattr(pyllm, dtype)
    pa, pb = pyllm.tensor(a).to(pdtype), pyllm.tensor(b).to(pdtype)
    out = F.cat([pa, pb])
    assert out.dtype == pdtype
    np.testing.assert_array_equal(np.array(out.float().tolist()), torch.cat([ta, tb]).float().numpy())


def test_cat_large_matches_torch(rng):
    # Big enough for the copy to run in parallel; the middle dim makes every slab strided in the output.
    pairs = [random_pair(rng, (64, n, 257)) for n in (5, 64, 3)]
    assert_close(F.cat([p for p, _ in pairs], 1), torch.cat([t for _, t in pairs], 1))


def test_cat_skips_legacy_empty_tensors(rng):
    x, tx = random_pair(rng, (2, 3), requires_grad=True)
    e, te = random_pair(rng, (0,), requires_grad=True)
    out, tout = F.cat([e, x, e], 1), torch.cat([te, tx, te], 1)
    assert out.shape == tuple(tout.shape) == (2, 3)
    assert_close(out, tout)
    backward_pair(rng, out, tout)
    assert_close(x.grad, tx.grad)
    assert e.grad.shape == (0,)
    assert F.cat([e, e]).shape == (0,)
    # Empty tensors of the right rank take part normally.
    z = pyllm.zeros(2, 0)
    assert F.cat([z, x, z], 1).shape == (2, 3)


def test_cat_gradient_only_for_inputs_that_require_it(rng):
    a, ta = random_pair(rng, (3, 2), requires_grad=True)
    b, tb = random_pair(rng, (3, 4))
    out, tout = F.cat([a, b], -1), torch.cat([ta, tb], -1)
    backward_pair(rng, out, tout)
    assert_close(a.grad, ta.grad)
    assert b.grad is None and out.grad_fn.name() == "CatBackward"


def test_cat_gradcheck(rng):
    a, _ = random_pair(rng, (2, 3), dtype="float64", requires_grad=True)
    b, _ = random_pair(rng, (2, 1), dtype="float64", requires_grad=True)
    assert gradcheck(lambda x, y: F.cat([x, y * y], 1), [a, b])


def test_cat_errors(rng):
    a, _ = random_pair(rng, (2, 3))
    with pytest.raises(ValueError, match="cat: expected a non-empty list"):
        F.cat([])
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2,4\).*except in dim 0"):
        F.cat([a, pyllm.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2,3,1\)"):
        F.cat([a, pyllm.zeros(2, 3, 1)], 1)
    with pytest.raises(TypeError, match="cat: dtypes float32 and int64 differ"):
        F.cat([a, pyllm.zeros(2, 3, dtype=pyllm.int64)])
    with pytest.raises(ValueError, match="cat: tensor 0 is 0-d"):
        F.cat([pyllm.tensor(1.0), pyllm.tensor(2.0)])
    with pytest.raises(IndexError, match="cat: dim 2 is out of range"):
        F.cat([a, a], 2)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_forward_and_backward(rng, dim):
    pairs = [random_pair(rng, (3, 5), requires_grad=True, noncontiguous=i == 1) for i in range(4)]
    out, tout = F.stack([p for p, _ in pairs], dim), torch.stack([t for _, t in pairs], dim)
    assert_close(out, tout)
    backward_pair(rng, out, tout)
    for p, t in pairs:
        assert_close(p.grad, t.grad)
    assert out.grad_fn.name() == "StackBackward"


def test_stack_of_scalars_and_gradcheck(rng):
    a, b = pyllm.tensor(1.5), pyllm.tensor(-2.0)
    assert F.stack([a, b]).tolist() == [1.5, -2.0]
    x, _ = random_pair(rng, (3,), dtype="float64", requires_grad=True)
    y, _ = random_pair(rng, (3,), dtype="float64", requires_grad=True)
    assert gradcheck(lambda p, q: F.stack([p, q.exp(), p], 1), [x, y])


def test_stack_errors():
    with pytest.raises(ValueError, match="stack: expected a non-empty list"):
        F.stack([])
    with pytest.raises(ValueError, match=r"stack: expects tensors of equal shape.*\(2,3\).*\(3,2\)"):
        F.stack([pyllm.zeros(2, 3), pyllm.zeros(3, 2)])
    with pytest.raises(IndexError, match="stack: dim 3 is out of range"):
        F.stack([pyllm.zeros(2, 3)], 3)


@pytest.mark.parametrize("size,split_size,dim", [(10, 3, 0), (10, 5, 0), (7, 7, 1), (3, 4, 0), (17, 2, -1)])
def test_split_by_size_gives_views(rng, size, split_size, dim):
    shape = [4, 4]
    shape[dim] = size
    x, tx = random_pair(rng, tuple(shape), requires_grad=True, noncontiguous=True)
    parts, tparts = F.split(x, split_size, dim), torch.split(tx, split_size, dim)
    assert isinstance(parts, tuple) and len(parts) == len(tparts)
    for p, t in zip(parts, tparts):
        assert_close(p, t)
        assert p.stride() == tuple(t.stride())  # a view of x: x's strides, no copy
    with pyllm.no_grad():
        base = x.detach()
        base_parts = F.split(base, split_size, dim)
        base_parts[-1].fill_(5.0)  # writes land in x
    assert_close(base_parts[-1], pyllm.full(base_parts[-1].shape, 5.0))
    assert (x.detach().numpy() == 5.0).sum() == base_parts[-1].numel()


def test_split_backward_fills_zeros_for_unused_outputs(rng):
    x, tx = random_pair(rng, (9, 4), requires_grad=True)
    a, b, c = F.split(x, [2, 3, 4])
    ta, tb, tc = torch.split(tx, [2, 3, 4])
    ((a * a).sum() + c.exp().sum()).backward()  # b gets no gradient
    ((ta * ta).sum() + tc.exp().sum()).backward()
    assert_close(x.grad, tx.grad)
    assert a.grad_fn is b.grad_fn and a.grad_fn.name() == "SplitBackward"


def test_split_output_used_twice_accumulates(rng):
    x, tx = random_pair(rng, (6,), requires_grad=True)
    a, b = x.split(3)
    ta, tb = tx.split(3)
    (a * b + a).sum().backward()
    (ta * tb + ta).sum().backward()
    assert_close(x.grad, tx.grad)


def test_split_gradcheck(rng):
    x, _ = random_pair(rng, (5, 3), dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: F.split(t, [1, 0, 2], 1), [x])
    assert gradcheck(lambda t: F.split(t, 2, 0)[1:], [x])


def test_split_sections_and_edge_cases(rng):
    x, tx = random_pair(rng, (6, 5))
    for p, t in zip(F.split(x, [1, 0, 4], 1), torch.split(tx, [1, 0, 4], 1)):
        assert_close(p, t)
    assert [p.shape for p in F.split(pyllm.zeros(0, 3), 2)] == [(0, 3)]
    assert [p.shape for p in F.split(pyllm.zeros(0, 3), 0)] == [(0, 3)]


def test_split_errors():
    x = pyllm.zeros(5, 2)
    with pytest.raises(ValueError, match=r"split: section sizes \(2,2\) sum to 4 but dim 0 .* has size 5"):
        F.split(x, [2, 2])
    with pytest.raises(ValueError, match="split: section sizes must be non-negative"):
        F.split(x, [6, -1])
    with pytest.raises(ValueError, match="split: split_size must be positive"):
        F.split(x, 0)
    with pytest.raises(ValueError, match="split: split_size must be positive"):
        F.split(x, -1)
    with pytest.raises(ValueError, match="split: expected a tensor with at least 1 dim"):
        F.split(pyllm.tensor(1.0), 1)
    with pytest.raises(IndexError, match="split: dim 2 is out of range"):
        F.split(x, 1, 2)


@pytest.mark.parametrize("size,chunks", [(10, 4), (6, 4), (5, 5), (3, 7), (17, 3), (0, 3)])
def test_chunk_matches_torch(rng, size, chunks):
    x, tx = random_pair(rng, (3, size), requires_grad=True)
    parts, tparts = F.chunk(x, chunks, 1), torch.chunk(tx, chunks, 1)
    assert [p.shape for p in parts] == [tuple(t.shape) for t in tparts]
    for p, t in zip(parts, tparts):
        assert_close(p, t)
    if size:
        sum((p * p).sum() for p in parts[:-1]).backward()
        sum((t * t).sum() for t in tparts[:-1]).backward()
        assert_close(x.grad, tx.grad)


def test_chunk_method_and_errors(rng):
    x, tx = random_pair(rng, (4, 6), noncontiguous=True)
    for p, t in zip(x.chunk(3, -1), tx.chunk(3, -1)):
        assert_close(p, t)
    with pytest.raises(ValueError, match="chunk: chunks must be positive"):
        x.chunk(0)
    with pytest.raises(ValueError, match="chunk: expected a tensor with at least 1 dim"):
        pyllm.tensor(2.0).chunk(1)


def test_split_then_cat_round_trip(rng):
    x, _ = random_pair(rng, (7, 11), requires_grad=True)
    y = F.cat(F.chunk(x, 3, 1), 1)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((7, 11), np.float32))

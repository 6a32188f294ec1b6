"""Views and indexing: view/reshape, permute/transpose, Python indexing and assignment, expand, squeeze,
flatten, contiguous; forward, strides and backward vs PyTorch, float64 gradcheck, and the errors."""
import numpy as np
import pytest
import torch

import pyllm
from pyllm.autograd import gradcheck
from util import assert_close, random_pair


def check_op(rng, shape, op, noncontiguous=False, torch_op=None):
    """op on a pyllm and a torch tensor: same values, same strides when both give views, same gradient."""
    x, tx = random_pair(rng, shape, requires_grad=True, noncontiguous=noncontiguous)
    y, ty = op(x), (torch_op or op)(tx)
    assert y.shape == tuple(ty.shape)
    assert_close(y, ty)
    shares = ty.numel() > 0 and ty.untyped_storage().data_ptr() == tx.untyped_storage().data_ptr()
    if shares:  # torch made a view of the input: so must we, with the same geometry
        assert y.data_ptr() - x.data_ptr() == (ty.data_ptr() - tx.data_ptr())
        # (the stride of a size-1 dim is arbitrary)
        assert [s for s, n in zip(y.stride(), y.shape) if n > 1] == [s for s, n in zip(ty.stride(), ty.shape) if n > 1]
    g, tg = random_pair(rng, tuple(ty.shape))
    y.backward(g)
    ty.backward(tg)
    assert_close(x.grad, tx.grad)
    return y


def gradcheck_op(rng, shape, op):
    x, _ = random_pair(rng, shape, dtype="float64", requires_grad=True)
    assert gradcheck(op, [x])

# ---------------------------------------------------------------- view / reshape


@pytest.mark.parametrize("shape,new", [((2, 3, 4), (6, 4)), ((2, 3, 4), (4, -1)), ((24,), (2, 3, 2, 2)),
                                       ((2, 3, 4), (-1,)), ((1, 5), (5, 1)), ((3, 1, 4), (3, 4)),
                                       ((0, 3), (3, 0)), ((), (1, 1))])
def test_view_and_reshape(rng, shape, new):
    y = check_op(rng, shape, lambda t: t.view(*new))
    assert y.is_contiguous()
    check_op(rng, shape, lambda t: t.reshape(new))
    if shape:
        gradcheck_op(rng, shape, lambda t: t.view(*new) * 2)


def test_view_of_strided_tensor_splits_and_merges_compatible_dims(rng):
    # (4, 6) transposed: dims can be split but not merged across the transposition.
    check_op(rng, (4, 6), lambda t: t.view(2, 2, 6), noncontiguous=True, torch_op=lambda t: t.view(2, 2, 6))
    check_op(rng, (4, 6), lambda t: t[:, ::2].view(2, 2, 3))
    check_op(rng, (4, 6, 2), lambda t: t[1:3].view(12, 2))


def test_view_incompatible_raises_and_reshape_copies(rng):
    x, tx = random_pair(rng, (4, 6), noncontiguous=True)
    with pytest.raises(ValueError, match=r"view: shape \(24\) is not compatible .* use reshape\(\)"):
        x.view(-1)
    with pytest.raises(RuntimeError):
        tx.view(-1)
    r = x.reshape(-1)
    assert r.is_contiguous() and r.data_ptr() != x.data_ptr()
    assert_close(r, tx.reshape(-1))
    same = x.transpose(0, 1).reshape(6, 4)  # already contiguous: a view
    assert same.data_ptr() == x.data_ptr()
    check_op(rng, (4, 6), lambda t: t.reshape(3, 8), noncontiguous=True)


def test_view_shape_errors():
    x = pyllm.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"view: only one dimension can be -1"):
        x.view(-1, -1)
    with pytest.raises(ValueError, match=r"view: shape \(5,5\) is invalid for input of size 24"):
        x.view(5, 5)
    with pytest.raises(ValueError, match=r"reshape: shape \(7,-1\) is invalid for input of size 24"):
        x.reshape(7, -1)
    with pytest.raises(ValueError, match=r"view: invalid shape \(2,-3,4\)"):
        x.view(2, -3, 4)

# ---------------------------------------------------------------- permute / transpose


@pytest.mark.parametrize("op", [
    lambda t: t.permute(2, 0, 1),
    lambda t: t.permute(-1, -3, -2),
    lambda t: t.transpose(0, 2),
    lambda t: t.transpose(-1, 1),
    lambda t: t.T if isinstance(t, pyllm.Tensor) else t.permute(2, 1, 0),
    lambda t: t.mT,
])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_permute_and_transpose(rng, op, noncontiguous):
    y = check_op(rng, (2, 3, 5), op, noncontiguous=noncontiguous)
    gradcheck_op(rng, (2, 3, 5), lambda t: op(t) * op(t))
    assert y.data_ptr() is not None


def test_matrix_transposes(rng):
    check_op(rng, (3, 4), lambda t: t.T)
    check_op(rng, (3, 4), lambda t: t.t())
    check_op(rng, (4,), lambda t: t.t())
    with pytest.raises(ValueError, match="t: expects a tensor with at most 2 dims"):
        pyllm.zeros(2, 2, 2).t()
    s = pyllm.tensor(1.0)
    assert s.transpose(0, -1).shape == () and s.permute().shape == ()
    with pytest.raises(IndexError, match="transpose: dim 5 is out of range"):
        s.transpose(0, 5)


def test_permute_errors():
    x = pyllm.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="permute: dim 0 appears twice"):
        x.permute(0, 0, 1)
    with pytest.raises(ValueError, match="permute: got 2 dims for a 3-d tensor"):
        x.permute(0, 1)
    with pytest.raises(IndexError, match="permute: dim 3 is out of range"):
        x.permute(0, 1, 3)
    with pytest.raises(IndexError, match="transpose: dim -4 is out of range"):
        x.transpose(-4, 0)

# ---------------------------------------------------------------- indexing


INDICES = [
    (slice(None), slice(1, 5)),
    (Ellipsis, -1),
    (None,),
    (slice(None, None, 2),),
    (-1, slice(None), slice(1, None, 3)),
    (0, None, Ellipsis, None),
    (slice(5, 1),),
    (slice(-100, 100),),
    (slice(-3, -1), 2),
    1,
    -2,
    (1, 2, 3),
    (Ellipsis,),
    (Ellipsis, None),
    (slice(None), None, slice(None, None, 4), -3),
]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_basic_indexing_gives_views(rng, index, noncontiguous):
    check_op(rng, (3, 4, 7), lambda t: t[index], noncontiguous=noncontiguous)


def test_indexing_gradcheck(rng):
    gradcheck_op(rng, (3, 4, 5), lambda t: t[1:, None, ::2, -1] * t[0, 0, 0])


def test_integer_tensor_and_list_indexing(rng):
    x, tx = random_pair(rng, (5, 4, 3), requires_grad=True)
    idx = np.array([[4, 0], [1, 4]])
    for p_index, t_index in [
        (pyllm.tensor(idx), torch.tensor(idx)),
        ([3, 0, 3], [3, 0, 3]),
        ((slice(None), pyllm.tensor([2, -1])), (slice(None), torch.tensor([2, -1]))),
        ((Ellipsis, [0, 2]), (Ellipsis, [0, 2])),
        ((1, pyllm.tensor([3, 0], dtype=pyllm.int32)), (1, torch.tensor([3, 0], dtype=torch.int32))),
        (pyllm.tensor(2), torch.tensor(2)),
    ]:
        y, ty = x[p_index], tx[t_index]
        assert_close(y, ty)
        g, tg = random_pair(rng, tuple(ty.shape))
        y.backward(g)
        ty.backward(tg)
        assert_close(x.grad, tx.grad)  # repeated indices accumulate
    xd, _ = random_pair(rng, (4, 3), dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: t[[1, 1, 3]], [xd])
    with pytest.raises(IndexError, match="only one integer-tensor index"):
        x[[0], [1]]


def test_indexing_errors(rng):
    x, _ = random_pair(rng, (2, 3, 4))
    with pytest.raises(IndexError, match="index 2 is out of bounds for dim 0 with size 2"):
        x[2]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dim 2 with size 4"):  # x's dim
        x[0, 0, -5]
    with pytest.raises(IndexError, match=r"too many indices for a tensor of dimension 3 \(got 4\)"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"an index can only have a single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="boolean mask indexing is not supported; use masked_fill"):
        x[pyllm.tensor([True, False])]
    with pytest.raises(IndexError, match="tensors used as indices must be int32 or int64"):
        x[pyllm.tensor([0.0])]
    with pytest.raises(IndexError, match="list indices must contain only integers"):
        x[[0, 1.5]]
    with pytest.raises(IndexError, match="unsupported index of type"):
        x[1.5]
    with pytest.raises(ValueError, match="slice: step must be positive"):
        x[::-1]
    with pytest.raises(IndexError, match=r"too many indices for a tensor of dimension 0 \(got 1\)"):
        pyllm.tensor(1.0)[0]

# ---------------------------------------------------------------- assignment


def test_setitem_scalars_and_tensors_with_broadcasting(rng):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x, tx = pyllm.tensor(a), torch.from_numpy(a.copy())
    row, trow = random_pair(rng, (5,))
    col, tcol = random_pair(rng, (3, 1, 1))
    for index, value, tvalue in [
        ((0,), 2.5, 2.5),
        ((slice(None), 1), row, trow),
        ((Ellipsis, slice(1, 4)), col, tcol),
        ((slice(None), slice(None), -1), 7, 7),
        ((1, None, slice(None, None, 2)), row, trow),
        ((2, 3, 4), True, True),
    ]:
        x[index] = value
        tx[index] = tvalue
        assert_close(x, tx)
    z = pyllm.zeros(2, 3, dtype=pyllm.int64)
    z[0] = 2.7  # converted like torch: truncated
    tz = torch.zeros(2, 3, dtype=torch.int64)
    tz[0] = 2.7
    assert z.tolist() == tz.tolist()
    z[1] = pyllm.tensor([1.9, -1.9, 3.0])  # a float source converts to the destination's dtype
    tz[1] = torch.tensor([1.9, -1.9, 3.0])
    assert z.tolist() == tz.tolist()


def test_setitem_overlapping_self_copy(rng):
    for n in (10, 100_003):  # small and parallel copies
        a = rng.standard_normal(n).astype(np.float32)
        x, tx = pyllm.tensor(a), torch.from_numpy(a.copy())
        x[1:] = x[:-1]
        tx[1:] = tx[:-1].clone()
        assert_close(x, tx)
        x[:-2] = x[2:]
        tx[:-2] = tx[2:].clone()
        assert_close(x, tx)
    m = pyllm.arange(16.0).view(4, 4)
    m[:] = m.T  # transposed self-copy: every element is read before any is written
    assert m.tolist() == torch.arange(16.0).view(4, 4).T.tolist()


def test_setitem_errors(rng):
    x, _ = random_pair(rng, (3, 4))
    with pytest.raises(ValueError, match=r"copy_: shapes \(3\) and \(4\) cannot be broadcast"):
        x[0] = pyllm.zeros(3)
    with pytest.raises(IndexError, match="assignment through an integer-tensor index is not supported"):
        x[[0, 1]] = 1.0
    w = pyllm.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place write to a tensor that requires grad"):
        w[0] = 1.0
    with pyllm.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0]
    e = pyllm.zeros(1).expand(4)
    with pytest.raises(RuntimeError, match="expanded view whose elements share memory"):
        e[:] = pyllm.arange(4.0)

# ---------------------------------------------------------------- expand / squeeze / unsqueeze / flatten


@pytest.mark.parametrize("shape,target", [((3, 1), (3, 4)), ((1,), (2, 3, 5)), ((2, 1, 3), (4, 2, 6, 3)),
                                          ((3, 1), (-1, 5)), ((2, 3), (2, 3)), ((1, 1), (0, 7))])
def test_expand(rng, shape, target):
    check_op(rng, shape, lambda t: t.expand(*target))
    gradcheck_op(rng, shape, lambda t: t.expand(*target) * 1.5)


def test_expand_as_and_broadcast_shapes(rng):
    y, _ = random_pair(rng, (4, 2, 3))
    check_op(rng, (2, 1), lambda t: t.expand_as(y) if isinstance(t, pyllm.Tensor) else t.expand(4, 2, 3))
    assert pyllm._core.broadcast_shapes([3, 1], [2, 1, 4]) == list(torch.broadcast_shapes((3, 1), (2, 1, 4)))
    with pytest.raises(ValueError, match=r"broadcast_shapes: shapes \(3\) and \(4\) cannot be broadcast"):
        pyllm._core.broadcast_shapes([3], [4])


def test_expand_errors():
    x = pyllm.zeros(3, 1)
    with pytest.raises(ValueError, match=r"expand: cannot expand \(3,1\) to \(4,2\)"):
        x.expand(4, 2)
    with pytest.raises(ValueError, match="expand: the target .* has fewer dims"):
        x.expand(3)
    with pytest.raises(ValueError, match="expand: -1 is not allowed for a new leading dim"):
        x.expand(-1, 3, 1)
    with pytest.raises(ValueError, match="expand: invalid size -2"):
        pyllm.zeros(1).expand(-2)


@pytest.mark.parametrize("op", [
    lambda t: t.squeeze(),
    lambda t: t.squeeze(0),
    lambda t: t.squeeze(-1),
    lambda t: t.squeeze(1),  # not size 1: unchanged
    lambda t: t.unsqueeze(0),
    lambda t: t.unsqueeze(-1),
    lambda t: t.unsqueeze(2),
    lambda t: t.flatten(),
    lambda t: t.flatten(1),
    lambda t: t.flatten(0, -2),
    lambda t: t.flatten(2, 2),
])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_squeeze_unsqueeze_flatten(rng, op, noncontiguous):
    shape = (1, 3, 4, 1) if not noncontiguous else (1, 3, 1, 4, 2)
    check_op(rng, shape, op, noncontiguous=noncontiguous)
    gradcheck_op(rng, shape, lambda t: op(t) * 3.0)


def test_squeeze_unsqueeze_flatten_edge_cases_and_errors():
    s = pyllm.tensor(2.0)
    assert s.flatten().shape == (1,) and s.unsqueeze(0).shape == (1,) and s.squeeze().shape == ()
    assert pyllm.zeros(2, 3).unsqueeze(2).stride() == torch.zeros(2, 3).unsqueeze(2).stride()
    with pytest.raises(IndexError, match="squeeze: dim 3 is out of range"):
        pyllm.zeros(1, 2, 1).squeeze(3)
    with pytest.raises(IndexError, match="unsqueeze: dim 4 is out of range"):
        pyllm.zeros(1, 2, 1).unsqueeze(4)
    with pytest.raises(ValueError, match="flatten: start_dim 2 is after end_dim 1"):
        pyllm.zeros(2, 3, 4).flatten(2, 1)

# ---------------------------------------------------------------- contiguous


def test_contiguous(rng):
    x, tx = random_pair(rng, (3, 5))
    assert x.contiguous() is x
    y = check_op(rng, (3, 5), lambda t: t.contiguous(), noncontiguous=True)
    assert y.is_contiguous() and y.stride() == (5, 1)
    gradcheck_op(rng, (3, 4), lambda t: t.transpose(0, 1).contiguous() * t.T)
    s = x[:, 1:4:2]
    c = s.contiguous()
    assert c.is_contiguous() and c.data_ptr() != s.data_ptr() and c.tolist() == s.tolist()


def test_views_share_storage_and_see_writes(rng):
    x = pyllm.zeros(4, 6)
    views = [x.view(24), x.T, x[1:3, ::2], x.unsqueeze(0), x.reshape(2, 12), x.flatten(), x.expand(2, 4, 6)]
    x.fill_(3.0)
    for v in views:
        assert (v.numpy() == 3.0).all()
    x[1:3, ::2].fill_(-1.0)
    assert x.view(24).tolist().count(-1.0) == 6


def test_view_chain_backward_matches_torch(rng):
    def f(t):
        u = t.view(2, 3, 4).permute(2, 0, 1)[1:, :, None].expand(3, 2, 5, 3)
        return (u.reshape(6, -1) * u.transpose(0, 1).flatten(0, 1).flatten(1)).unsqueeze(0).squeeze()

    check_op(rng, (24,), f)
    gradcheck_op(rng, (24,), f)

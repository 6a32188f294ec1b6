"""matmul, bmm and linear: forward and backward parity with PyTorch (torch.matmul's 1-D promotion and
batch broadcasting, odd sizes that leave partial register tiles and cache blocks, transposed, sliced and
expanded inputs), float64 gradcheck, every SIMD path, thread-count independence, and error messages."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, random_pair, run_under_isa


def atol_for(terms):
    """float32 rounding grows with the number of products summed into one output element."""
    return 1e-5 * max(1.0, terms ** 0.5)


def summed_terms(a_shape, b_shape):
    """How many products each element of out, dA and dB sums for a matmul of these shapes."""
    am = tuple(a_shape) if len(a_shape) >= 2 else (1, a_shape[0])
    bm = tuple(b_shape) if len(b_shape) >= 2 else (b_shape[0], 1)
    batch = int(np.prod(np.broadcast_shapes(am[:-2], bm[:-2])))
    M, K, N = am[-2], am[-1], bm[-1]
    return K, N * batch // max(1, int(np.prod(am[:-2]))), M * batch // max(1, int(np.prod(bm[:-2])))


def check_forward_backward(rng, out, tout, out_atol, leaves):
    """out against tout, then the gradients of a fresh random output gradient: each (leaf, torch leaf,
    atol) in leaves."""
    assert_close(out, tout, atol=out_atol)
    g, tg = random_pair(rng, tuple(tout.shape))
    out.backward(g)
    tout.backward(tg)
    for leaf, tleaf, atol in leaves:
        assert_close(leaf.grad, tleaf.grad, atol=atol)


def check_product(rng, op, top, a, ta, b, tb):
    """Forward and backward of op(a, b) against top(ta, tb)."""
    terms_out, terms_a, terms_b = summed_terms(tuple(ta.shape), tuple(tb.shape))
    check_forward_backward(rng, op(a, b), top(ta, tb), atol_for(terms_out),
                           [(a, ta, atol_for(terms_a)), (b, tb, atol_for(terms_b))])


MATMUL_SHAPES = [
    ((3,), (3,)),                    # dot product, 0-d result
    ((4,), (4, 5)),                  # 1-D promoted on the left
    ((3, 4), (4,)),                  # 1-D promoted on the right
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 6)),       # batch dims broadcast on both sides -> (2,5,3,6)
    ((1, 3, 4), (7, 4, 5)),
    ((3, 4), (6, 4, 5)),             # a matrix broadcast over b's batch: its gradient sums over it
    ((6, 3, 4), (4, 5)),             # b broadcast over a's batch: one tall product, dB sums over it
    ((2, 3, 1, 5, 4), (3, 1, 4, 2)),
    ((1, 1), (1, 1)),
    ((3, 17), (17, 129)),
    ((129, 3), (3, 17)),
    ((17, 129), (129, 1)),           # one output column (matrix-vector path)
    ((1, 129), (129, 17)),           # one output row
    ((1000, 513), (513, 77)),        # no size a multiple of a block size; threaded
    ((3, 200), (200, 2000)),         # few rows: threads split the columns
    ((48, 256, 64), (48, 64, 256)),  # attention-like batch
    ((0, 3), (3, 4)),                # empty results and an empty inner dimension
    ((3, 0), (0, 4)),
    ((2, 0, 3), (3, 4)),
]


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_matmul_parity(rng, a_shape, b_shape):
    a, ta = random_pair(rng, a_shape, requires_grad=True)
    b, tb = random_pair(rng, b_shape, requires_grad=True)
    check_product(rng, F.matmul, torch.matmul, a, ta, b, tb)


NONCONTIGUOUS_SHAPES = [
    ((3, 17), (17, 129)),
    ((2, 1, 3, 4), (5, 4, 6)),
    ((6, 3, 4), (4, 5)),
    ((1000, 513), (513, 77)),
    ((17, 129), (129, 1)),
    ((1, 129), (129, 17)),
    ((48, 256, 64), (48, 64, 256)),
]


# Every way to transpose the operands' storage, except a transposition of a matrix with a unit dim (that
# is still contiguous).
TRANSPOSED_CASES = [(a, b, a_t, b_t) for a, b in NONCONTIGUOUS_SHAPES
                    for a_t, b_t in [(True, False), (False, True), (True, True)]
                    if not (a_t and 1 in a[-2:]) and not (b_t and 1 in b[-2:])]


@pytest.mark.parametrize("a_shape,b_shape,a_t,b_t", TRANSPOSED_CASES)
def test_matmul_parity_transposed_inputs(rng, a_shape, b_shape, a_t, b_t):
    a, ta = random_pair(rng, a_shape, requires_grad=True, noncontiguous=a_t)
    b, tb = random_pair(rng, b_shape, requires_grad=True, noncontiguous=b_t)
    check_product(rng, F.matmul, torch.matmul, a, ta, b, tb)


def test_matmul_parity_sliced_and_expanded_inputs(rng):
    base = rng.standard_normal((4, 9, 40)).astype(np.float32)
    a = pyllm.tensor(base)[:, 1::2, ::3]  # (4, 4, 14): non-unit strides in every dim
    ta = torch.from_numpy(base.copy())[:, 1::2, ::3]
    row = rng.standard_normal((1, 14, 1)).astype(np.float32)
    b = pyllm.tensor(row).expand(4, 14, 6)  # stride 0 in the batch and column dims
    tb = torch.from_numpy(row.copy()).expand(4, 14, 6)
    assert_close(a @ b, ta @ tb)
    column = pyllm.tensor(base)[0, :, 2:3]  # (9, 1) with row stride 40: the matrix-vector path, strided
    assert_close(pyllm.tensor(base[1]).transpose(0, 1) @ column, torch.from_numpy(base[1].T @ base[0, :, 2:3]))
    leaf, tleaf = random_pair(rng, (14, 6), requires_grad=True)
    # An expanded operand that requires grad: its gradient sums over the expanded batch.
    check_forward_backward(rng, a @ leaf.expand(4, 14, 6), ta @ tleaf.expand(4, 14, 6), None, [(leaf, tleaf, None)])


@pytest.mark.parametrize("a_shape,b_shape", [((2, 1, 3, 4), (5, 4, 6)), ((6, 3, 40), (40, 5)), ((7, 33), (33,))])
def test_matmul_parity_expanded_output_gradient(rng, a_shape, b_shape):
    """.sum() hands backward a gradient expanded from one element (all strides 0)."""
    a, ta = random_pair(rng, a_shape, requires_grad=True)
    b, tb = random_pair(rng, b_shape, requires_grad=True)
    (a @ b).sum().backward()
    (ta @ tb).sum().backward()
    terms_out, terms_a, terms_b = summed_terms(a_shape, b_shape)
    assert_close(a.grad, ta.grad, atol=atol_for(terms_a))
    assert_close(b.grad, tb.grad, atol=atol_for(terms_b))


def test_matmul_operator_and_method(rng):
    (a, ta), (b, tb) = random_pair(rng, (5, 7)), random_pair(rng, (7, 3))
    assert_close(a @ b, ta @ tb)
    assert_close(a.matmul(b), ta.matmul(tb))


def test_matmul_results_do_not_depend_on_thread_count(rng):
    shapes = [((300, 200), (200, 260)), ((3, 200), (200, 2000)), ((48, 64, 32), (48, 32, 64)), ((1, 300), (300, 500))]
    threads = pyllm.get_num_threads()
    try:
        for a_shape, b_shape in shapes:
            a, _ = random_pair(rng, a_shape)
            b, _ = random_pair(rng, b_shape)
            pyllm.set_num_threads(1)
            one = (a @ b).numpy()
            pyllm.set_num_threads(2)
            two = (a @ b).numpy()
            np.testing.assert_array_equal(one, two)
    finally:
        pyllm.set_num_threads(threads)


@pytest.mark.parametrize("a_shape,b_shape,noncontiguous", [((2, 3, 4), (2, 4, 5), False), ((5, 1, 7), (5, 7, 1), False),
                                                          ((3, 40, 33), (3, 33, 70), False),
                                                          ((2, 3, 4), (2, 4, 5), True), ((3, 40, 33), (3, 33, 70), True)])
def test_bmm_parity(rng, a_shape, b_shape, noncontiguous):
    a, ta = random_pair(rng, a_shape, requires_grad=True, noncontiguous=noncontiguous)
    b, tb = random_pair(rng, b_shape, requires_grad=True, noncontiguous=noncontiguous)
    check_product(rng, F.bmm, torch.bmm, a, ta, b, tb)


@pytest.mark.parametrize("x_shape", [(5,), (3, 5), (2, 3, 5), (2, 3, 4, 5), (1, 5), (0, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_parity(rng, x_shape, with_bias):
    x, tx = random_pair(rng, x_shape, requires_grad=True)
    w, tw = random_pair(rng, (7, 5), requires_grad=True)
    b, tb = random_pair(rng, (7,), requires_grad=True) if with_bias else (None, None)
    atol = atol_for(max(1, int(np.prod(x_shape[:-1]))))
    check_forward_backward(rng, F.linear(x, w, b), torch.nn.functional.linear(tx, tw, tb), None,
                           [(x, tx, None), (w, tw, atol)] + ([(b, tb, atol)] if with_bias else []))


def check_linear(rng, x_shape, out_features, x_t=False, w_t=False):
    """Forward and backward of F.linear with a bias against PyTorch, x and the weight optionally stored
    transposed; each tolerance grows with the number of terms its elements sum."""
    in_features, rows = x_shape[-1], int(np.prod(x_shape[:-1]))
    x, tx = random_pair(rng, x_shape, requires_grad=True, noncontiguous=x_t)
    w, tw = random_pair(rng, (out_features, in_features), requires_grad=True, noncontiguous=w_t)
    b, tb = random_pair(rng, (out_features,), requires_grad=True)
    check_forward_backward(rng, F.linear(x, w, b), torch.nn.functional.linear(tx, tw, tb), atol_for(in_features),
                           [(x, tx, atol_for(out_features)), (w, tw, atol_for(rows)), (b, tb, atol_for(rows))])


@pytest.mark.parametrize("x_t,w_t", [(True, False), (False, True), (True, True)])
def test_linear_parity_transposed_inputs(rng, x_t, w_t):
    check_linear(rng, (4, 33, 129), 65, x_t, w_t)


def test_linear_parity_llm_layer(rng):
    check_linear(rng, (2, 64, 768), 1000)


def test_linear_parity_in_no_grad(rng):
    x, tx = random_pair(rng, (3, 8))
    w, tw = random_pair(rng, (4, 8), requires_grad=True)
    with pyllm.no_grad():
        out = F.linear(x, w)
    assert not out.requires_grad
    assert_close(out, torch.nn.functional.linear(tx, tw))


@pytest.mark.parametrize("a_shape,b_shape", [((3,), (3,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((3, 4), (2, 4, 5)),
                                             ((2, 1, 3, 4), (2, 4, 2))])
def test_matmul_gradcheck(rng, a_shape, b_shape):
    a, _ = random_pair(rng, a_shape, dtype="float64", requires_grad=True)
    b, _ = random_pair(rng, b_shape, dtype="float64", requires_grad=True)
    assert gradcheck(F.matmul, [a, b])


def test_bmm_gradcheck(rng):
    a, _ = random_pair(rng, (2, 3, 4), dtype="float64", requires_grad=True)
    b, _ = random_pair(rng, (2, 4, 5), dtype="float64", requires_grad=True)
    assert gradcheck(F.bmm, [a, b])


@pytest.mark.parametrize("x_shape", [(4,), (2, 3, 4)])
def test_linear_gradcheck(rng, x_shape):
    x, _ = random_pair(rng, x_shape, dtype="float64", requires_grad=True)
    w, _ = random_pair(rng, (5, 4), dtype="float64", requires_grad=True)
    b, _ = random_pair(rng, (5,), dtype="float64", requires_grad=True)
    assert gradcheck(F.linear, [x, w, b])


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_every_isa_path(isa):
    """The parity tests again in a fresh process whose kernels are forced down to `isa`."""
    args = ["-q", "-x", "-p", "no:cacheprovider", __file__, "-k", "parity"]
    run_under_isa(isa, f"import sys, pytest; sys.exit(pytest.main({args!r}))", expect=r"\d+ passed\b.*")


def test_matmul_errors(rng):
    a, _ = random_pair(rng, (2, 3))
    with pytest.raises(ValueError, match=r"matmul: \(2,3\) @ \(4,5\): inner dimensions 3 and 4 differ"):
        F.matmul(a, random_pair(rng, (4, 5))[0])
    with pytest.raises(ValueError, match=r"matmul: \(\) @ \(3\): both operands must be at least 1-D"):
        F.matmul(pyllm.tensor(2.0), random_pair(rng, (3,))[0])
    with pytest.raises(ValueError, match=r"matmul: \(2,3,4\) @ \(3,4,5\): batch dimensions \(2\) and \(3\) do not"):
        F.matmul(random_pair(rng, (2, 3, 4))[0], random_pair(rng, (3, 4, 5))[0])
    with pytest.raises(TypeError, match=r"matmul: dtypes float32 and float64 differ"):
        F.matmul(a, random_pair(rng, (3, 2), dtype="float64")[0])
    ints = pyllm.tensor(np.arange(6).reshape(3, 2))
    with pytest.raises(TypeError, match=r"matmul: expected float32 or float64 operands, got float32 and int64"):
        F.matmul(a, ints)


def test_bmm_errors(rng):
    with pytest.raises(ValueError, match=r"bmm: \(2,3\) @ \(2,3,4\): expected 3-D tensors"):
        F.bmm(random_pair(rng, (2, 3))[0], random_pair(rng, (2, 3, 4))[0])
    with pytest.raises(ValueError, match=r"bmm: \(2,3,4\) @ \(3,4,5\): batch sizes 2 and 3 differ"):
        F.bmm(random_pair(rng, (2, 3, 4))[0], random_pair(rng, (3, 4, 5))[0])
    with pytest.raises(ValueError, match=r"bmm: \(2,3,4\) @ \(2,5,6\): inner dimensions 4 and 5 differ"):
        F.bmm(random_pair(rng, (2, 3, 4))[0], random_pair(rng, (2, 5, 6))[0])


def test_linear_errors(rng):
    x, _ = random_pair(rng, (2, 3))
    with pytest.raises(ValueError, match=r"linear: input \(2,3\) and weight \(4,5\): in_features 3 and 5 differ"):
        F.linear(x, random_pair(rng, (4, 5))[0])
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D"):
        F.linear(x, random_pair(rng, (3,))[0])
    with pytest.raises(ValueError, match=r"linear: bias \(5\) does not match out_features 4"):
        F.linear(x, random_pair(rng, (4, 3))[0], random_pair(rng, (5,))[0])
    with pytest.raises(ValueError, match=r"linear: input must be at least 1-D"):
        F.linear(pyllm.tensor(1.0), random_pair(rng, (4, 3))[0])
    with pytest.raises(TypeError, match=r"linear: expected float32 or float64 operands"):
        F.linear(pyllm.tensor(np.ones((2, 3), dtype=np.int32)), random_pair(rng, (4, 3))[0])
    with pytest.raises(TypeError, match=r"linear: dtypes float32 and float64 differ"):
        F.linear(x, random_pair(rng, (4, 3))[0], random_pair(rng, (4,), dtype="float64")[0])


def test_saved_operand_modified_in_place_is_caught(rng):
    a, _ = random_pair(rng, (3, 4), requires_grad=True)
    b, _ = random_pair(rng, (4, 5))
    out = (a @ b).sum()
    b.fill_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward()

"""scaled_dot_product_attention: the fused CPU kernel against torch.nn.functional.scaled_dot_product_attention
(forward and dq, dk, dv), every SIMD path, float64 gradcheck, masks, grouped-query and cross attention,
strided inputs, fully masked rows, dropout, and the errors."""
import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import assert_close, run_under_isa

OP = "scaled_dot_product_attention"
# float32 sums over up to 129 keys and 72 features, computed in another order than PyTorch's.
RTOL, ATOL = 1e-4, 2e-5


def leaf_pair(rng, shape, dtype="float32", transposed=False):
    """A leaf (pyllm, torch) pair with the same random values, and the views the op gets. transposed=True
    stores (B, H, T, D) data as (B, T, H, D) and passes the transpose(1, 2) view, as in a model."""
    if transposed:
        B, H, T, D = shape
        array = rng.standard_normal((B, T, H, D)).astype(dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    p, t = pyllm.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    if transposed:
        pv, tv = p.transpose(1, 2), t.transpose(1, 2)
        assert not pv.is_contiguous()
        return (p, t), (pv, tv)
    return (p, t), (p, t)


def mask_pair(array, requires_grad=False):
    p, t = pyllm.tensor(array), torch.tensor(array)
    if requires_grad:
        p.requires_grad = True
        t.requires_grad_(True)
    return p, t


def check_parity(rng, B, Hq, Hkv, Tq, Tk, D, Dv=None, causal=False, mask=None, mask_grad=False, scale=None,
                 transposed=False, three_d=False, dtype="float32", rtol=RTOL, atol=ATOL, torch_causal_as_mask=False):
    """Runs pyllm and PyTorch on the same data; compares the output and the gradients of q, k, v (and of
    a float mask when mask_grad). torch_causal_as_mask: PyTorch gets causal=True as an explicit
    lower-triangular bool mask."""
    Dv = Dv or D
    shapes = [(B, Hq, Tq, D), (B, Hkv, Tk, D), (B, Hkv, Tk, Dv)]
    if three_d:
        shapes = [(s[0], s[2], s[3]) for s in shapes]
    leaves, views = zip(*[leaf_pair(rng, s, dtype, transposed) for s in shapes])
    pm = tm = None
    if mask is not None:
        pm, tm = mask_pair(mask, mask_grad)
    out = F.scaled_dot_product_attention(*[v[0] for v in views], attn_mask=pm, is_causal=causal, scale=scale)
    ref_causal = causal
    if torch_causal_as_mask and causal:
        tm, ref_causal = torch.ones(Tq, Tk, dtype=torch.bool).tril(), False
    ref = torch.nn.functional.scaled_dot_product_attention(*[v[1] for v in views], attn_mask=tm, is_causal=ref_causal,
                                                           scale=scale, enable_gqa=Hq != Hkv)
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out, ref, rtol=rtol, atol=atol)
    grad = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pyllm.tensor(grad))
    ref.backward(torch.tensor(grad))
    for name, (p, t) in zip("qkv", leaves):
        assert p.grad is not None, f"no gradient for {name}"
        assert_close(p.grad, t.grad, rtol=rtol, atol=atol)
    if mask_grad:
        assert_close(pm.grad, tm.grad, rtol=rtol, atol=atol)
    return out


# ---- parity with PyTorch ----

@pytest.mark.parametrize("T", [1, 3, 17, 129, 200])
@pytest.mark.parametrize("D", [16, 64, 72])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch(rng, T, D, causal):
    check_parity(rng, 2, 3, 3, T, T, D, causal=causal)


@pytest.mark.parametrize("Tq,Tk", [(17, 129), (129, 17), (1, 70), (70, 1), (65, 64)])
@pytest.mark.parametrize("causal", [False, True])
def test_cross_attention(rng, Tq, Tk, causal):
    # Causal with Tq != Tk is top-left aligned: query i sees keys j <= i.
    check_parity(rng, 2, 3, 3, Tq, Tk, 64, causal=causal)


@pytest.mark.parametrize("Hkv", [2, 1])
@pytest.mark.parametrize("causal", [False, True])
def test_grouped_query_attention(rng, Hkv, causal):
    check_parity(rng, 2, 6, Hkv, 33, 47 if not causal else 33, 64, causal=causal)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 40])
def test_few_kv_heads_split_the_keys(rng, causal, D):
    # One kv head: backward splits its 5 key blocks over several work items, whose dq parts are summed.
    check_parity(rng, 1, 4, 1, 300, 300, D, causal=causal)


@pytest.mark.parametrize("D,Dv", [(64, 16), (16, 72), (3, 5)])
def test_value_width_differs_from_key_width(rng, D, Dv):
    check_parity(rng, 2, 3, 3, 20, 30, D, Dv=Dv)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 40])
def test_transposed_btHd_inputs(rng, causal, D):
    # (B, T, H, D) storage viewed as (B, H, T, D): read through strides; D = 40 is also not a whole
    # number of vectors, so those operands get packed.
    check_parity(rng, 2, 4, 2, 70, 70, D, causal=causal, transposed=True)


def test_three_d_inputs(rng):
    check_parity(rng, 2, 1, 1, 40, 33, 24, three_d=True)
    check_parity(rng, 2, 1, 1, 40, 40, 24, three_d=True, causal=True)


def test_three_d_inputs_with_mask(rng):
    check_parity(rng, 2, 1, 1, 40, 33, 24, three_d=True, mask=rng.standard_normal((2, 40, 33)).astype("float32"))
    check_parity(rng, 2, 1, 1, 40, 33, 24, three_d=True, mask=rng.random((40, 33)) > 0.3)


@pytest.mark.parametrize("scale", [0.3, -0.5, 2.0])
def test_explicit_scale(rng, scale):
    check_parity(rng, 2, 3, 3, 30, 30, 16, scale=scale)
    # PyTorch 2.13's causal CPU kernel gives NaN for a negative scale; its bool-mask path is right.
    check_parity(rng, 2, 3, 3, 30, 30, 16, scale=scale, causal=True, torch_causal_as_mask=True)


def test_large_scores_are_stable(rng):
    # Scores near 100 would overflow exp without the running max. Weights this peaked amplify float32
    # rounding of the scores (both libraries), hence the wider tolerance.
    out = check_parity(rng, 1, 2, 2, 80, 80, 64, scale=4.0, causal=True, rtol=1e-3, atol=1e-3)
    assert np.all(np.isfinite(out.detach().numpy()))


def test_strided_output_gradient(rng):
    # out.sum() sends an expanded (all strides 0) gradient into the backward kernel.
    (q, tq), _ = leaf_pair(rng, (2, 3, 20, 16))
    (k, tk), _ = leaf_pair(rng, (2, 3, 25, 16))
    (v, tv), _ = leaf_pair(rng, (2, 3, 25, 16))
    F.scaled_dot_product_attention(q, k, v).sum().backward()
    torch.nn.functional.scaled_dot_product_attention(tq, tk, tv).sum().backward()
    for p, t in ((q, tq), (k, tk), (v, tv)):
        assert_close(p.grad, t.grad, rtol=RTOL, atol=ATOL)


# ---- masks ----

MASK_SHAPES = {
    "full": (2, 3, 33, 47),
    "shared": (1, 1, 33, 47),
    "per_head": (1, 3, 33, 47),
    "key_padding": (2, 1, 1, 47),
    "two_d": (33, 47),
    "per_query": (2, 1, 33, 1),
}


@pytest.mark.parametrize("shape", MASK_SHAPES.values(), ids=MASK_SHAPES.keys())
def test_float_mask(rng, shape):
    check_parity(rng, 2, 3, 3, 33, 47, 64, mask=rng.standard_normal(shape).astype("float32"))


@pytest.mark.parametrize("shape", MASK_SHAPES.values(), ids=MASK_SHAPES.keys())
def test_bool_mask(rng, shape):
    mask = rng.random(shape) > 0.3
    mask[..., 0] = True  # every row keeps a key (fully masked rows have their own test)
    check_parity(rng, 2, 3, 3, 33, 47, 64, mask=mask)


def test_bool_mask_with_grouped_query_attention(rng):
    mask = rng.random((2, 6, 33, 47)) > 0.5
    mask[..., 3] = True
    check_parity(rng, 2, 6, 2, 33, 47, 64, mask=mask)


def test_non_contiguous_mask(rng):
    # A (Tk, Tq) array transposed: the mask is read through its strides, its last stride not 1.
    for array in (rng.standard_normal((47, 33)).astype("float32"), rng.random((47, 33)) > 0.2):
        pm, tm = mask_pair(np.ascontiguousarray(array))
        (q, tq), _ = leaf_pair(rng, (2, 3, 33, 16))
        (k, tk), _ = leaf_pair(rng, (2, 3, 47, 16))
        (v, tv), _ = leaf_pair(rng, (2, 3, 47, 16))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=pm.transpose(0, 1))
        ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm.transpose(0, 1))
        assert_close(out, ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(1, 1, 33, 47), (2, 1, 1, 47), (33, 47)])
def test_float_mask_gradient(rng, shape):
    check_parity(rng, 2, 3, 3, 33, 47, 16, mask=rng.standard_normal(shape).astype("float32"), mask_grad=True)


def test_masked_keys_get_no_weight(rng):
    # Changing a masked-out key and value must not change anything.
    (q, _), _ = leaf_pair(rng, (1, 2, 9, 8))
    (k, _), _ = leaf_pair(rng, (1, 2, 12, 8))
    (v, _), _ = leaf_pair(rng, (1, 2, 12, 8))
    mask = np.ones((12,), dtype=bool)
    mask[5] = False
    pm = pyllm.tensor(mask)
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=pm).detach().numpy()
    k2, v2 = k.detach().numpy().copy(), v.detach().numpy().copy()
    k2[..., 5, :] += 100.0
    v2[..., 5, :] -= 50.0
    b = F.scaled_dot_product_attention(q, pyllm.tensor(k2), pyllm.tensor(v2), attn_mask=pm).detach().numpy()
    np.testing.assert_array_equal(a, b)


# ---- fully masked rows: output 0 and no gradient, as PyTorch 2.13's CPU kernel ----

@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zero(rng, kind):
    B, H, Tq, Tk = 2, 3, 20, 30
    if kind == "bool":
        mask = rng.random((B, 1, Tq, Tk)) > 0.3
        mask[..., 0] = True
        mask[0, 0, 4, :] = False
        mask[1, 0, 11:14, :] = False
    else:
        mask = rng.standard_normal((B, 1, Tq, Tk)).astype("float32")
        mask[0, 0, 4, :] = -np.inf
        mask[1, 0, 11:14, :] = -np.inf
    out = check_parity(rng, B, H, H, Tq, Tk, 16, mask=mask)
    values = out.detach().numpy()
    assert np.all(values[0, :, 4] == 0) and np.all(values[1, :, 11:14] == 0)
    assert np.all(np.isfinite(values))


def test_every_key_masked(rng):
    check_parity(rng, 1, 2, 2, 5, 7, 8, mask=np.zeros((5, 7), dtype=bool))


def test_no_keys(rng):
    check_parity(rng, 2, 3, 3, 6, 0, 8)


def test_no_queries(rng):
    check_parity(rng, 2, 3, 3, 0, 6, 8)


# ---- float64 gradcheck ----

def f64_inputs(rng, shapes):
    return [pyllm.tensor(rng.standard_normal(s), dtype=pyllm.float64, requires_grad=True) for s in shapes]


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck(rng, causal):
    q, k, v = f64_inputs(rng, [(1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 3)])
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=causal), [q, k, v])


def test_gradcheck_grouped_cross_attention(rng):
    q, k, v = f64_inputs(rng, [(1, 4, 3, 4), (1, 2, 6, 4), (1, 2, 6, 5)])
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), [q, k, v])


def test_gradcheck_float_mask_including_its_gradient(rng):
    q, k, v, m = f64_inputs(rng, [(2, 2, 4, 3), (2, 2, 5, 3), (2, 2, 5, 3), (2, 1, 1, 5)])
    assert gradcheck(lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d), [q, k, v, m])


def test_gradcheck_bool_mask_three_d(rng):
    q, k, v = f64_inputs(rng, [(2, 4, 3), (2, 5, 3), (2, 5, 2)])
    mask = pyllm.tensor(rng.random((4, 5)) > 0.4)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask, scale=0.7), [q, k, v])


def test_gradcheck_dropout(rng):
    # Fixed generator state: forward and backward see one mask, and so do gradcheck's perturbed calls.
    q, k, v = f64_inputs(rng, [(1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 4)])
    gen = pyllm.Generator(11)
    state = gen.get_state()

    def fn(a, b, c):
        gen.set_state(state)
        return F.scaled_dot_product_attention(a, b, c, dropout_p=0.4, is_causal=True, generator=gen)

    assert gradcheck(fn, [q, k, v])


# ---- dropout ----

def dropout_mask_and_output(rng, B, H, Tq, Tk, D, p, causal, gen):
    """With V = I, the output row i is the dropped weights of query i, scaled: it reveals the mask."""
    q, k = (pyllm.tensor(rng.standard_normal(s).astype("float32")) for s in ((B, H, Tq, D), (B, H, Tk, D)))
    eye = pyllm.tensor(np.broadcast_to(np.eye(Tk, dtype="float32"), (B, H, Tk, Tk)).copy())
    out = F.scaled_dot_product_attention(q, k, eye, dropout_p=p, is_causal=causal, generator=gen).numpy()
    return q, k, out


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_zeroes_weights_and_rescales_the_rest(rng, p):
    B, H, T, D = 2, 3, 70, 16
    gen = pyllm.Generator(5)
    q, k, out = dropout_mask_and_output(rng, B, H, T, T, D, p, False, gen)
    weights = torch.softmax(torch.tensor(q.numpy()) @ torch.tensor(k.numpy()).transpose(-1, -2) / np.sqrt(D), -1)
    kept = out != 0
    np.testing.assert_allclose(out[kept], weights.numpy()[kept] / (1 - p), rtol=1e-5, atol=1e-7)
    # Bernoulli(1 - p) over 29400 weights: standard deviation below 0.003.
    assert abs(kept.mean() - (1 - p)) < 0.015
    # Not one pattern repeated: rows, heads and batches draw different masks.
    assert not np.array_equal(kept[0, 0], kept[0, 1]) and not np.array_equal(kept[0, 0], kept[1, 0])
    assert not np.array_equal(kept[0, 0, 0], kept[0, 0, 1])


@pytest.mark.parametrize("causal", [False, True])
def test_dropout_forward_and_backward_match_a_reference_with_the_same_mask(rng, causal):
    B, H, T, D, Dv, p = 2, 3, 37, 16, 24, 0.3
    gen = pyllm.Generator(9)
    state = gen.get_state()
    q, k, revealed = dropout_mask_and_output(rng, B, H, T, T, D, p, causal, gen)
    keep = torch.tensor(revealed != 0)
    gen.set_state(state)  # the same counters again: the same mask
    v = rng.standard_normal((B, H, T, Dv)).astype("float32")
    pq, pk, pv = (pyllm.tensor(a.numpy() if isinstance(a, pyllm.Tensor) else a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(pq, pk, pv, dropout_p=p, is_causal=causal, generator=gen)
    tq, tk, tv = (torch.tensor(a.detach().numpy(), requires_grad=True) for a in (pq, pk, pv))
    scores = tq @ tk.transpose(-1, -2) / np.sqrt(D)
    if causal:
        scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    ref = (torch.softmax(scores, -1) * keep / (1 - p)) @ tv
    assert_close(out, ref, rtol=RTOL, atol=ATOL)
    grad = rng.standard_normal((B, H, T, Dv)).astype("float32")
    out.backward(pyllm.tensor(grad))
    ref.backward(torch.tensor(grad))
    for a, b in ((pq, tq), (pk, tk), (pv, tv)):
        assert_close(a.grad, b.grad, rtol=RTOL, atol=ATOL)


def test_dropout_follows_the_generator_state(rng):
    gen = pyllm.Generator(3)
    state = gen.get_state()
    _, _, a = dropout_mask_and_output(np.random.default_rng(1), 1, 2, 20, 20, 8, 0.5, False, gen)
    assert gen.get_state() != state  # the call reserved counters
    _, _, b = dropout_mask_and_output(np.random.default_rng(1), 1, 2, 20, 20, 8, 0.5, False, gen)
    assert not np.array_equal(a != 0, b != 0)
    gen.set_state(state)
    _, _, c = dropout_mask_and_output(np.random.default_rng(1), 1, 2, 20, 20, 8, 0.5, False, gen)
    np.testing.assert_array_equal(a, c)
    # No generator: the default one, which pyllm.manual_seed seeds.
    pyllm.manual_seed(4)
    _, _, d = dropout_mask_and_output(np.random.default_rng(1), 1, 2, 20, 20, 8, 0.5, False, None)
    pyllm.manual_seed(4)
    _, _, e = dropout_mask_and_output(np.random.default_rng(1), 1, 2, 20, 20, 8, 0.5, False, None)
    np.testing.assert_array_equal(d, e)


def test_no_dropout_draws_nothing(rng):
    gen = pyllm.Generator(3)
    state = gen.get_state()
    dropout_mask_and_output(rng, 1, 2, 20, 20, 8, 0.0, False, gen)
    assert gen.get_state() == state


# ---- threads and instruction sets ----

def test_results_do_not_depend_on_the_thread_count(rng):
    def run(threads):
        before = pyllm.get_num_threads()
        pyllm.set_num_threads(threads)
        try:
            r = np.random.default_rng(2)
            (q, _), _ = leaf_pair(r, (2, 4, 150, 64))
            (k, _), _ = leaf_pair(r, (2, 2, 150, 64))
            (v, _), _ = leaf_pair(r, (2, 2, 150, 64))
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.2, generator=pyllm.Generator(1))
            out.backward(pyllm.tensor(r.standard_normal((2, 4, 150, 64)).astype("float32")))
            return [t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)]
        finally:
            pyllm.set_num_threads(before)

    for a, b in zip(run(1), run(3)):
        np.testing.assert_array_equal(a, b)


def run_reference_cases(seed):
    """A cross-section of the parity tests; run in a subprocess for each forced instruction set."""
    rng = np.random.default_rng(seed)
    check_parity(rng, 2, 3, 3, 129, 129, 64, causal=True)
    check_parity(rng, 2, 3, 3, 17, 70, 72)
    check_parity(rng, 2, 6, 2, 65, 65, 16, causal=True, transposed=True)
    check_parity(rng, 2, 3, 3, 33, 47, 40, mask=rng.standard_normal((2, 1, 1, 47)).astype("float32"), mask_grad=True)
    check_parity(rng, 1, 2, 2, 20, 30, 8, mask=rng.random((20, 30)) > 0.5)


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_each_instruction_set(isa, rng):
    seed = int(rng.integers(2**31))  # printed in the failure as part of the script
    run_under_isa(isa, f"import test_attention as t; t.run_reference_cases({seed}); print('ok')")


def test_reference_cases_on_the_best_instruction_set(rng):
    run_reference_cases(int(rng.integers(2**31)))


# ---- errors ----

def t32(*shape):
    return pyllm.randn(*shape)


@pytest.mark.parametrize("q,k,v,message", [
    ((4, 8), (4, 8), (4, 8), "3-D .* or all 4-D"),
    ((2, 3, 4, 8), (2, 4, 8), (2, 4, 8), "3-D .* or all 4-D"),
    ((2, 3, 4, 8), (3, 3, 4, 8), (3, 3, 4, 8), "batch sizes differ"),
    ((2, 3, 4, 8), (2, 3, 4, 6), (2, 3, 4, 8), "feature sizes differ"),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 6, 8), "lengths differ"),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 1, 5, 8), "head counts differ"),
    ((2, 5, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), "not a multiple of 2 key/value heads"),
])
def test_shape_errors(q, k, v, message):
    with pytest.raises(ValueError, match=f"{OP}: .*{message}"):
        F.scaled_dot_product_attention(t32(*q), t32(*k), t32(*v))


def test_dtype_errors():
    q = t32(2, 3, 4, 8)
    with pytest.raises(TypeError, match=f"{OP}: query, key and value must have one dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(TypeError, match=OP):
        F.scaled_dot_product_attention(q.long(), q.long(), q.long())
    with pytest.raises(TypeError, match=f"{OP}: attn_mask must be bool or float32"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyllm.zeros(4, 4).double())
    with pytest.raises(TypeError, match=f"{OP}: attn_mask must be bool"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyllm.zeros(4, 4).long())


def test_argument_errors():
    q = t32(2, 3, 4, 8)
    with pytest.raises(ValueError, match=rf"{OP}: attn_mask of shape \(5,4\) does not broadcast to the scores' shape "
                                         r"\(2,3,4,4\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyllm.zeros(5, 4))
    with pytest.raises(ValueError, match=f"{OP}: attn_mask of shape"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyllm.zeros(1, 2, 3, 4, 4))
    with pytest.raises(ValueError, match=f"{OP}: pass either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyllm.zeros(4, 4), is_causal=True)
    for p in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match=f"{OP}: dropout_p must be in"):
            F.scaled_dot_product_attention(q, q, q, dropout_p=p)

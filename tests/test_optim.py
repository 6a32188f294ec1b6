"""Optimizers and gradient utilities against PyTorch: AdamW over many steps and several parameter groups,
state_dict round trips, zero_grad, skipped parameters, clip_grad_norm_, and the global_norm kernel."""
import math

import numpy as np
import pytest
import torch

import pyllm
from pyllm import _core
from util import assert_close

# Odd sizes plus one > 1M elements, so the kernel's split across threads cuts through tensors.
SHAPES = [(1,), (3,), (17,), (129,), (5, 17), (1100, 1000)]

GROUPS = [  # (indices into SHAPES, options); the third group hits the other side of lerp (1 - beta1 >= 0.5)
    ([0, 1, 5], dict(lr=1e-2, weight_decay=0.1)),
    ([2, 3], dict(lr=3e-3, weight_decay=0.0, eps=1e-6)),
    ([4], dict(lr=5e-2, betas=(0.3, 0.95))),
]


def make_params(rng, dtype="float32", shapes=SHAPES):
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [pyllm.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs


def grouped(params):
    return [dict(params=[params[i] for i in idx], **opts) for idx, opts in GROUPS]


def set_grads(rng, ours, theirs, dtype="float32", skip=()):
    for i, (p, t) in enumerate(zip(ours, theirs)):
        if i in skip:
            p.grad, t.grad = None, None
            continue
        g = rng.standard_normal(tuple(p.shape)).astype(dtype)
        p.grad = pyllm.tensor(g)
        t.grad = torch.from_numpy(g.copy())


def assert_same_as_torch(ours, theirs, opt, topt, rtol=None, atol=None):
    for p, t in zip(ours, theirs):
        assert_close(p, t, rtol=rtol, atol=atol)
        if t in topt.state:
            ts, s = topt.state[t], opt.state[p]
            assert s["step"] == int(ts["step"])
            assert_close(s["exp_avg"], ts["exp_avg"], rtol=rtol, atol=atol)
            assert_close(s["exp_avg_sq"], ts["exp_avg_sq"], rtol=rtol, atol=atol)
        else:
            assert p not in opt.state


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adamw_matches_torch_over_many_steps_with_param_groups(rng, dtype):
    ours, theirs = make_params(rng, dtype)
    opt = pyllm.optim.AdamW(grouped(ours), lr=1e-3, weight_decay=0.05)
    topt = torch.optim.AdamW(grouped(theirs), lr=1e-3, weight_decay=0.05)
    assert [g["lr"] for g in opt.param_groups] == [1e-2, 3e-3, 5e-2]
    assert opt.param_groups[2]["weight_decay"] == 0.05  # the default fills what a group leaves out
    for _ in range(25):
        set_grads(rng, ours, theirs, dtype)
        opt.step()
        topt.step()
    assert_same_as_torch(ours, theirs, opt, topt)


def test_adamw_skips_params_without_grad_and_keeps_their_step_count(rng):
    ours, theirs = make_params(rng)
    opt = pyllm.optim.AdamW(ours, lr=1e-2)
    topt = torch.optim.AdamW(theirs, lr=1e-2)
    frozen = ours[3].detach().numpy().copy()
    for step in range(12):
        # Param 3 never has a gradient; param 1 only on even steps, so its step count falls behind and the
        # group is updated by two kernel calls with different bias corrections.
        set_grads(rng, ours, theirs, skip={3} if step % 2 == 0 else {1, 3})
        opt.step()
        topt.step()
    assert ours[3] not in opt.state
    np.testing.assert_array_equal(ours[3].detach().numpy(), frozen)
    assert opt.state[ours[1]]["step"] == 6 and opt.state[ours[0]]["step"] == 12
    assert_same_as_torch(ours, theirs, opt, topt)


def test_adamw_takes_non_contiguous_grads(rng):
    ours, theirs = make_params(rng, shapes=[(17, 3)])
    g = rng.standard_normal((3, 17)).astype(np.float32)
    ours[0].grad = pyllm.tensor(g).transpose(0, 1)
    theirs[0].grad = torch.from_numpy(g.copy()).t()
    assert not ours[0].grad.is_contiguous()
    pyllm.optim.AdamW(ours, lr=0.1).step()
    torch.optim.AdamW(theirs, lr=0.1).step()
    assert_close(ours[0], theirs[0])


def test_adamw_updates_in_place_outside_autograd(rng):
    ours, _ = make_params(rng, shapes=[(4, 3)])
    p = ours[0]
    y = (p * p).sum()  # saves p for backward
    p.grad = pyllm.ones(4, 3)
    before, version = p.detach().numpy().copy(), p._version
    opt = pyllm.optim.AdamW([p])
    opt.step()  # in grad mode: nothing is recorded
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._version > version
    assert not np.array_equal(p.detach().numpy(), before)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_adamw_step_is_the_same_for_any_thread_count(rng):
    results = []
    threads = pyllm.get_num_threads()
    try:
        for n in (1, 2, 3):
            pyllm.set_num_threads(n)
            local = np.random.default_rng(7)
            ours, theirs = make_params(local, shapes=[(129,), (700, 1001), (3,)])
            opt = pyllm.optim.AdamW(ours)
            for _ in range(3):
                set_grads(local, ours, theirs)
                opt.step()
            results.append([p.detach().numpy().copy() for p in ours])
    finally:
        pyllm.set_num_threads(threads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_step_calls_the_closure_with_grad_enabled(rng):
    ours, theirs = make_params(rng, shapes=[(3,)])
    opt = pyllm.optim.AdamW(ours, lr=0.1)
    topt = torch.optim.AdamW(theirs, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (ours[0] * ours[0]).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = (theirs[0] * theirs[0]).sum()
        loss.backward()
        return loss

    with pyllm.no_grad():
        loss = opt.step(closure)
    topt.step(tclosure)
    assert isinstance(loss, pyllm.Tensor) and loss.requires_grad
    assert_close(ours[0], theirs[0])


@pytest.mark.parametrize("k", [1, 4])
def test_state_dict_round_trip_continues_exactly(rng, k):
    ours, theirs = make_params(rng)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(k + 5)]

    def run(opt, params, steps):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = pyllm.tensor(g)
            opt.step()

    opt = pyllm.optim.AdamW(grouped(ours))
    run(opt, ours, grads[:k])
    saved = opt.state_dict()
    copies = [pyllm.tensor(p.detach().numpy(), requires_grad=True) for p in ours]
    run(opt, ours, grads[k:])  # uninterrupted; must not change `saved`
    assert saved["state"][0]["step"] == k

    fresh = pyllm.optim.AdamW(grouped(copies), lr=0.5)  # options differ until loaded
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    assert fresh.param_groups[2]["betas"] == (0.3, 0.95)
    run(fresh, copies, grads[k:])
    for p, q in zip(ours, copies):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    for p, q in zip(ours, copies):
        assert opt.state[p]["step"] == fresh.state[q]["step"] == k + 5
        np.testing.assert_array_equal(opt.state[p]["exp_avg_sq"].numpy(), fresh.state[q]["exp_avg_sq"].numpy())

    # Loading copies the tensors: two optimizers loaded from one dict share no state.
    again = pyllm.optim.AdamW(grouped([pyllm.tensor(p.detach().numpy(), requires_grad=True) for p in ours]))
    again.load_state_dict(saved)
    state_a = next(iter(again.state.values()))["exp_avg"]
    assert state_a.data_ptr() != saved["state"][0]["exp_avg"].data_ptr()


def test_state_dict_layout_and_load_errors(rng):
    ours, _ = make_params(rng, shapes=[(2,), (3,), (4,)])
    opt = pyllm.optim.AdamW([dict(params=ours[:2]), dict(params=ours[2:], lr=0.1)])
    sd = opt.state_dict()
    assert sd["state"] == {}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1
    with pytest.raises(ValueError, match="different number of parameter groups"):
        pyllm.optim.AdamW(ours).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        pyllm.optim.AdamW([dict(params=ours[:1]), dict(params=ours[1:])]).load_state_dict(sd)


def test_load_state_dict_casts_state_to_the_param_dtype(rng):
    p = pyllm.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    p.grad = pyllm.tensor(rng.standard_normal(5).astype(np.float32))
    opt = pyllm.optim.AdamW([p])
    opt.step()
    q = pyllm.tensor(rng.standard_normal(5), requires_grad=True)  # float64
    other = pyllm.optim.AdamW([q])
    other.load_state_dict(opt.state_dict())
    assert other.state[q]["exp_avg"].dtype == pyllm.float64
    assert_close(other.state[q]["exp_avg"], opt.state[p]["exp_avg"].double())


def test_zero_grad(rng):
    ours, _ = make_params(rng, shapes=[(3,), (4, 2)])
    opt = pyllm.optim.AdamW(ours)
    for p in ours:
        p.grad = pyllm.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
    grad = ours[1].grad
    opt.zero_grad(set_to_none=False)
    assert ours[1].grad is grad
    assert all(not p.grad.numpy().any() for p in ours)
    opt.zero_grad()
    assert all(p.grad is None for p in ours)
    opt.step()  # nothing has a gradient: a no-op that creates no state
    assert opt.state == {}


def test_add_param_group_and_construction_errors(rng):
    ours, _ = make_params(rng, shapes=[(3,), (4,), (5,)])
    opt = pyllm.optim.AdamW(ours[:2], lr=0.01)
    opt.add_param_group({"params": ours[2], "weight_decay": 0.0})
    assert opt.param_groups[1]["params"][0] is ours[2] and opt.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [ours[0]]})
    with pytest.raises(ValueError, match="duplicate parameters"):
        pyllm.optim.AdamW([ours[0], ours[0]])
    with pytest.raises(ValueError, match="empty parameter list"):
        pyllm.optim.AdamW([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        pyllm.optim.AdamW(ours[0])
    with pytest.raises(TypeError, match="ordered collections"):
        pyllm.optim.AdamW([{"params": {ours[0]}}])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        pyllm.optim.AdamW([ours[0], 3.0])
    with pytest.raises(ValueError, match="non-leaf"):
        pyllm.optim.AdamW([ours[0] * 2])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        pyllm.optim.AdamW(ours, lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        pyllm.optim.AdamW(ours, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon"):
        pyllm.optim.AdamW(ours, eps=-1e-8)
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        pyllm.optim.AdamW(ours, weight_decay=-0.1)
    assert "Parameter Group 1" in repr(opt) and "weight_decay: 0.0" in repr(opt)


def _adamw_args(rng, shapes):
    """params, grads, exp_avgs, exp_avg_sqs: four lists of fresh float32 tensors."""
    return [[pyllm.tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes] for _ in range(4)]


def test_adamw_step_validates_its_inputs(rng):
    params, grads, m, v = _adamw_args(rng, [(3,), (2, 4)])
    hyper = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1)
    with pytest.raises(ValueError, match=r"adamw_step: got 2 params, 1 grads"):
        _core.adamw_step(params, grads[:1], m, v, **hyper)
    with pytest.raises(ValueError, match=r"adamw_step: grads\[1\] has shape \(4,2\) but params\[1\] has shape \(2,4\)"):
        _core.adamw_step(params, [grads[0], grads[1].view(4, 2)], m, v, **hyper)
    with pytest.raises(TypeError, match=r"adamw_step: exp_avgs\[0\] is float64 but params\[0\] is float32"):
        _core.adamw_step(params, grads, [m[0].double(), m[1]], v, **hyper)
    with pytest.raises(TypeError, match=r"adamw_step: params\[0\] is int64"):
        _core.adamw_step([pyllm.tensor([1, 2, 3]), params[1]], grads, m, v, **hyper)
    with pytest.raises(ValueError, match=r"adamw_step: grads\[1\] is None"):
        _core.adamw_step(params, [grads[0], None], m, v, **hyper)
    with pytest.raises(ValueError, match=r"adamw_step: exp_avg_sqs\[1\] of shape \(2,4\) is not contiguous"):
        _core.adamw_step(params, grads, m, [v[0], v[1].view(4, 2).transpose(0, 1)], **hyper)
    with pytest.raises(ValueError, match=r"adamw_step: params\[0\] and exp_avgs\[0\] overlap"):
        _core.adamw_step(params, grads, [params[0], m[1]], v, **hyper)
    with pytest.raises(ValueError, match=r"adamw_step: .*params\[1\].* overlap"):
        _core.adamw_step(params, [grads[0], params[1]], m, v, **hyper)
    with pytest.raises(ValueError, match="adamw_step: step"):
        _core.adamw_step(params, grads, m, v, **{**hyper, "step": 0})
    with pytest.raises(ValueError, match=r"adamw_step: beta2 must be in \[0, 1\)"):
        _core.adamw_step(params, grads, m, v, **{**hyper, "beta2": 1.0})
    with pytest.raises(ValueError, match="adamw_step: invalid learning rate"):
        _core.adamw_step(params, grads, m, v, **{**hyper, "lr": float("nan")})
    # Grads only read: sharing memory among them is fine. An empty list is a no-op.
    _core.adamw_step([params[0], pyllm.zeros(3)], [grads[0], grads[0]], [m[0], pyllm.zeros(3)],
                     [v[0], pyllm.zeros(3)], **hyper)
    _core.adamw_step([], [], [], [], **hyper)


def test_adamw_step_accepts_views_of_one_flat_buffer(rng):
    """Parameters packed into one buffer share storage without overlapping: allowed."""
    flat = pyllm.tensor(rng.standard_normal(20).astype(np.float32))
    tflat = torch.from_numpy(flat.numpy().copy())
    g = rng.standard_normal(20).astype(np.float32)
    params = [flat[:7], flat[7:]]
    grads = [pyllm.tensor(g[:7]), pyllm.tensor(g[7:])]
    m = [pyllm.zeros(7), pyllm.zeros(13)]
    v = [pyllm.zeros(7), pyllm.zeros(13)]
    _core.adamw_step(params, grads, m, v, 0.1, 0.9, 0.999, 1e-8, 0.01, 1)
    tparams = [tflat[:7].clone().requires_grad_(), tflat[7:].clone().requires_grad_()]
    tparams[0].grad, tparams[1].grad = torch.from_numpy(g[:7].copy()), torch.from_numpy(g[7:].copy())
    torch.optim.AdamW(tparams, lr=0.1).step()
    assert_close(flat, torch.cat([t.detach() for t in tparams]))


# ---- clip_grad_norm_ and global_norm ----

def _grad_params(rng, shapes, scale=1.0):
    ours, theirs = make_params(rng, shapes=shapes)
    set_grads(rng, ours, theirs)
    for p, t in zip(ours, theirs):
        g = (p.grad.numpy() * scale).astype(np.float32)
        p.grad, t.grad = pyllm.tensor(g), torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clips / does not clip
def test_clip_grad_norm_matches_torch(rng, norm_type, max_norm):
    shapes = [(1,), (3,), (17,), (129,), (33, 65), (4,)]
    ours, theirs = _grad_params(rng, shapes)
    ours[5].grad, theirs[5].grad = None, None  # a parameter without gradient is left out
    total = pyllm.nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, pyllm.Tensor) and total.shape == () and total.dtype == pyllm.float32
    assert_close(total, ttotal)
    if max_norm == 0.5:
        assert float(total) > max_norm  # the test really clips
    for p, t in zip(ours[:5], theirs[:5]):
        assert_close(p.grad, t.grad)
    assert ours[5].grad is None


def test_clip_grad_norm_single_tensor_empty_and_nonfinite(rng):
    ours, theirs = _grad_params(rng, [(6,)], scale=10.0)
    assert_close(pyllm.nn.utils.clip_grad_norm_(ours[0], 1.0), torch.nn.utils.clip_grad_norm_(theirs[0], 1.0))
    assert_close(ours[0].grad, theirs[0].grad)

    bare = pyllm.tensor([1.0, 2.0], requires_grad=True)
    assert float(pyllm.nn.utils.clip_grad_norm_([bare], 1.0)) == 0.0

    ours, theirs = _grad_params(rng, [(3,), (5,)])
    g = ours[1].grad.numpy().copy()
    g[2] = np.nan
    ours[1].grad, theirs[1].grad = pyllm.tensor(g), torch.from_numpy(g.copy())
    with pytest.raises(RuntimeError, match="non-finite"):
        pyllm.nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    total = pyllm.nn.utils.clip_grad_norm_(ours, 1.0)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isnan(float(total))
    assert np.isnan(ours[0].grad.numpy()).all() and torch.isnan(theirs[0].grad).all()  # as PyTorch


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_global_norm_against_float64_numpy(rng, norm_type):
    # Mixed magnitudes, mixed dtypes, a non-contiguous tensor, an empty one, sizes that straddle the
    # kernel's blocks and vector lanes.
    arrays = [rng.standard_normal(s) * rng.uniform(1e-3, 1e3) for s in [(1,), (17,), (129, 3), (0,), (70001,), (33, 31)]]
    tensors = [pyllm.tensor(a.astype(np.float32)) for a in arrays[:3]]
    tensors += [pyllm.tensor(arrays[3].astype(np.float32)), pyllm.tensor(arrays[4])]
    tensors.append(pyllm.tensor(arrays[5].T.copy()).transpose(0, 1))  # float64, non-contiguous
    assert not tensors[-1].is_contiguous()
    exact = [a.astype(np.float32).astype(np.float64) for a in arrays[:4]] + arrays[4:]
    ref = np.linalg.norm(np.concatenate([a.ravel() for a in exact]), ord=norm_type)
    got = _core.global_norm(tensors, norm_type)
    assert abs(got - ref) <= 1e-12 * ref


def test_global_norm_is_the_same_for_any_thread_count(rng):
    tensors = [pyllm.tensor(rng.standard_normal(s).astype(np.float32)) for s in [(300001,), (5,), (200000,)]]
    threads = pyllm.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            pyllm.set_num_threads(n)
            results.append(_core.global_norm(tensors, 2.0))
    finally:
        pyllm.set_num_threads(threads)
    assert results[0] == results[1] == results[2]


def test_global_norm_nonfinite_empty_and_errors(rng):
    t = pyllm.tensor(np.array([1.0, np.inf, -3.0], dtype=np.float32))
    n = pyllm.tensor(np.array([1.0, np.nan, np.inf], dtype=np.float32))
    for norm_type in (2.0, 1.0, float("inf")):
        assert _core.global_norm([t], norm_type) == math.inf
        assert math.isnan(_core.global_norm([n], norm_type))
    assert _core.global_norm([], 2.0) == 0.0
    with pytest.raises(ValueError, match="global_norm: norm_type must be 1, 2 or inf, got 3"):
        _core.global_norm([t], 3.0)
    with pytest.raises(TypeError, match=r"global_norm: tensors\[1\] is int64"):
        _core.global_norm([t, pyllm.tensor([1, 2])], 2.0)
    with pytest.raises(ValueError, match=r"global_norm: tensors\[0\] is None"):
        _core.global_norm([None], 2.0)

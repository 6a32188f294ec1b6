"""The autograd engine: accumulation, retain_graph, no_grad, in-place safety, leaf rules, multi-output."""
import numpy as np
import pytest
import torch

import pyllm
from pyllm.autograd import gradcheck
from util import assert_close, random_pair


def test_gradients_accumulate_across_backward_calls(rng):
    (x, tx) = random_pair(rng, (3, 4), requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
        (tx * tx).sum().backward()
    assert_close(x.grad, tx.grad)


def test_retain_graph_allows_a_second_backward_and_accumulates(rng):
    x, tx = random_pair(rng, (5,), requires_grad=True)
    y, ty = (x.exp() * x).sum(), (tx.exp() * tx).sum()
    y.backward(retain_graph=True)
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    assert_close(x.grad, tx.grad)


def test_second_backward_without_retain_graph_raises(rng):
    x, _ = random_pair(rng, (5,), requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_no_grad_records_nothing_and_restores_mode(rng):
    x, _ = random_pair(rng, (2, 2), requires_grad=True)
    with pyllm.no_grad():
        y = x * 2
        assert not pyllm.is_grad_enabled()
    assert pyllm.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @pyllm.no_grad()
    def f(t):
        return t + 1

    assert not f(x).requires_grad


def test_inplace_write_to_a_saved_tensor_is_detected(rng):
    x, _ = random_pair(rng, (4,), requires_grad=True)
    w, _ = random_pair(rng, (4,))
    y = (x * w).sum()
    w.fill_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_inplace_write_to_a_leaf_that_requires_grad_raises_unless_no_grad(rng):
    x, _ = random_pair(rng, (4,), requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x += 1
    before = x.detach().numpy().copy()
    with pyllm.no_grad():
        x += 1
    np.testing.assert_allclose(x.detach().numpy(), before + 1)


def test_backward_on_non_scalar_needs_a_gradient(rng):
    x, tx = random_pair(rng, (2, 3), requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="one-element"):
        y.backward()
    g, tg = random_pair(rng, (2, 3))
    y.backward(g)
    (tx * 3).backward(tg)
    assert_close(x.grad, tx.grad)


def test_detach_shares_storage_and_cuts_history(rng):
    x, _ = random_pair(rng, (3,), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    assert x.is_leaf and not (x * 2).is_leaf


def test_requires_grad_only_on_floating_tensors():
    with pytest.raises(TypeError, match="floating"):
        pyllm.tensor([1, 2, 3], requires_grad=True)


def test_grad_assignment_checks_shape(rng):
    x, _ = random_pair(rng, (3,), requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        x.grad = pyllm.zeros(4)
    x.grad = None
    assert x.grad is None


def test_gradient_flows_through_a_diamond(rng):
    x, tx = random_pair(rng, (3, 3), requires_grad=True)

    def f(a, lib):
        b = a * 2
        return (lib.exp(b) * b + b.tanh()).sum()

    f(x, pyllm.nn.functional).backward()
    f(tx, torch).backward()
    assert_close(x.grad, tx.grad)


def test_multi_output_backward(rng):
    x, tx = random_pair(rng, (4,), requires_grad=True)
    pyllm.autograd.backward([(x * x).sum(), x.exp().sum()])
    torch.autograd.backward([(tx * tx).sum(), tx.exp().sum()])
    assert_close(x.grad, tx.grad)


def test_gradcheck_catches_a_wrong_gradient(rng):
    x, _ = random_pair(rng, (3,), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: a.exp(), [x])
    with pytest.raises(AssertionError, match="gradcheck"):
        gradcheck(lambda a: a.detach().exp() + a, [x])  # true gradient is exp(a), analytic gives 1

"""dropout: identity cases return the input itself, p=1 zeros, exact inverted scaling, Philox determinism
(seeded generators, thread-count independence), drop fraction within a binomial bound, backward through
the saved mask, gradcheck, errors."""
import numpy as np
import pytest

import pyllm
import pyllm.nn.functional as F
from pyllm.autograd import gradcheck
from util import random_pair


def _mask(out):
    return out.detach().numpy() != 0


def test_identity_when_p_is_zero_or_not_training(rng):
    x, _ = random_pair(rng, (4, 5), requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(pyllm.tensor([1, 2, 3]), 0.3, training=False).dtype == pyllm.int64


def test_p_one_gives_zeros_and_zero_gradient(rng):
    x, _ = random_pair(rng, (3, 17), requires_grad=True)
    y = F.dropout(x, 1.0)
    assert (y.detach().numpy() == 0).all()
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kept_values_are_scaled_exactly(rng, p, dtype):
    x, _ = random_pair(rng, (129, 17), dtype=dtype)
    y = F.dropout(x, p, generator=pyllm.Generator(3)).numpy()
    keep = y != 0
    scale = np.array(1.0 / (1.0 - p), dtype=dtype)
    np.testing.assert_array_equal(y[keep], x.numpy()[keep] * scale)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_drop_fraction_is_p_within_a_binomial_bound(p):
    n = 1_000_003  # odd: the last Philox group is partial
    y = F.dropout(pyllm.ones(n), p, generator=pyllm.Generator(11)).numpy()
    dropped = int((y == 0).sum())
    sigma = np.sqrt(n * p * (1 - p))
    assert abs(dropped - n * p) < 6 * sigma


def test_same_seed_same_mask_different_seed_different_mask(rng):
    x, _ = random_pair(rng, (64, 65))
    a = _mask(F.dropout(x, 0.5, generator=pyllm.Generator(1234)))
    b = _mask(F.dropout(x, 0.5, generator=pyllm.Generator(1234)))
    c = _mask(F.dropout(x, 0.5, generator=pyllm.Generator(1235)))
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.4


def test_successive_draws_differ_and_the_default_generator_is_seedable(rng):
    x, _ = random_pair(rng, (50, 50))
    gen = pyllm.Generator(7)
    assert (_mask(F.dropout(x, 0.5, generator=gen)) != _mask(F.dropout(x, 0.5, generator=gen))).any()
    pyllm.manual_seed(42)
    a = _mask(F.dropout(x, 0.5))
    pyllm.manual_seed(42)
    np.testing.assert_array_equal(a, _mask(F.dropout(x, 0.5)))


def test_mask_does_not_depend_on_the_thread_count(rng):
    x, _ = random_pair(rng, (300, 301))
    old = pyllm.get_num_threads()
    try:
        masks = []
        for threads in (1, 2, 3):
            pyllm.set_num_threads(threads)
            masks.append(_mask(F.dropout(x, 0.3, generator=pyllm.Generator(99))))
    finally:
        pyllm.set_num_threads(old)
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[0], masks[2])


def test_backward_uses_the_forward_mask(rng):
    x, _ = random_pair(rng, (33, 17), requires_grad=True)
    y = F.dropout(x, 0.4, generator=pyllm.Generator(5))
    g, _ = random_pair(rng, (33, 17))
    y.backward(g)
    keep = _mask(y)
    expected = np.where(keep, g.numpy() * np.float32(1 / 0.6), 0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_non_contiguous_input(rng):
    x, _ = random_pair(rng, (17, 33), noncontiguous=True)
    y = F.dropout(x, 0.5, generator=pyllm.Generator(8)).numpy()
    keep = y != 0
    np.testing.assert_array_equal(y[keep], x.numpy()[keep] * np.float32(2.0))
    assert 0.3 < keep.mean() < 0.7


def test_gradcheck_float64_with_a_fixed_mask(rng):
    x, _ = random_pair(rng, (4, 6), dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: F.dropout(a, 0.3, generator=pyllm.Generator(21)), [x])


def test_errors_name_the_op():
    x = pyllm.ones(3)
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1, but got -0.1"):
        F.dropout(x, -0.1, training=False)
    with pytest.raises(TypeError, match="dropout"):
        F.dropout(pyllm.tensor([1, 2, 3]), 0.5)

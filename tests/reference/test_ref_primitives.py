"""Invariants of the primitives: probabilities sum to one, gradients of the mean NLL sum to
zero per position, nothing overflows."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqlm.reference.primitives import cross_entropy, sigmoid, softmax

logits_arrays = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 9)),
                       elements=st.floats(-50, 50))


@settings(max_examples=60, deadline=None)
@given(logits_arrays, st.data())
def test_softmax_sums_to_one_and_the_loss_gradient_sums_to_zero(logits, data):
    n, v = logits.shape
    targets = np.array(data.draw(st.lists(st.integers(0, v - 1), min_size=n, max_size=n)))
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0, atol=1e-12)
    loss, dlogits = cross_entropy(logits, targets)
    assert loss >= 0 and np.isfinite(loss)
    np.testing.assert_allclose(dlogits.sum(axis=1), 0.0, atol=1e-12)  # p - onehot sums to 0


def test_weighted_loss_ignores_zero_weight_positions():
    logits = np.random.default_rng(0).normal(size=(4, 5))
    targets = np.array([0, 1, 2, 3])
    weights = np.array([0.0, 1.0, 0.0, 1.0])
    loss, dlogits = cross_entropy(logits, targets, weights)
    expected, _ = cross_entropy(logits[[1, 3]], targets[[1, 3]])
    assert loss == expected
    assert not dlogits[[0, 2]].any()


def test_sigmoid_is_stable_at_the_extremes():
    s = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])

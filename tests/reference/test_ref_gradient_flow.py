"""Jacobian products and measured gradient norms: the numbers behind `seqlm vanishing`."""

import numpy as np
import pytest

from seqlm.config import ReferenceModelConfig
from seqlm.reference.gradient_flow import (
    driven_tanh_primes,
    fit_decay_rate,
    gradient_norms,
    jacobian_product_norms,
    scaled_recurrent_matrix,
)
from seqlm.reference.lm import ReferenceLM


@pytest.mark.parametrize("radius", [0.5, 0.9, 1.1, 1.5])
def test_products_at_the_fixed_point_follow_the_spectral_radius(radius):
    W = scaled_recurrent_matrix(32, radius, seed=1)
    assert np.abs(np.linalg.eigvals(W)).max() == pytest.approx(radius)
    norms = jacobian_product_norms(W, np.ones((100, 32)))
    assert fit_decay_rate(norms, start=0) == pytest.approx(radius, rel=0.01)
    if radius < 1:
        assert norms[-1] < 1e-3 * norms[0]  # vanishes
    else:
        assert norms[-1] > 10 * norms[0]  # explodes


def test_saturation_only_shrinks_the_product():
    W = scaled_recurrent_matrix(32, 1.5, seed=2)
    primes = driven_tanh_primes(W, 60, drive_std=0.5, seed=2)
    assert ((primes > 0) & (primes <= 1)).all()
    fixed = jacobian_product_norms(W, np.ones((60, 32)))
    driven = jacobian_product_norms(W, primes)
    assert (driven <= fixed * (1 + 1e-9)).all()  # |tanh'| <= 1 never adds growth


def test_fit_decay_rate_recovers_a_geometric_series():
    assert fit_decay_rate(3.0 * 0.7 ** np.arange(40)) == pytest.approx(0.7)
    assert np.isnan(fit_decay_rate(np.array([1.0])))


def test_measured_norms_are_the_rnn_jacobian_chain():
    """For a 1-layer RNN LM, dL_T/dh_{k-1} = W_hh^T diag(1 - h_k^2) dL_T/dh_k exactly: the
    measured norms are the analytic product applied to the gradient at T."""
    model = ReferenceLM(ReferenceModelConfig(cell="rnn", vocab_size=9, embedding_dim=4,
                                             hidden_size=6, seed=3))
    ids = np.random.default_rng(0).integers(0, 9, 12)
    T = 9
    norms = gradient_norms(model, ids, T)
    assert norms.shape == (T + 1,)
    _, _, _, cache = model.forward_cached(ids[None, : T + 1], ids[None, 1: T + 2])
    hs = cache.top[0]  # (T+1, H)
    W = model.cells[0].params["weight_hh"]
    weights = np.zeros((1, T + 1))
    weights[0, T] = 1.0
    _, _, _, cache = model.forward_cached(ids[None, : T + 1], ids[None, 1: T + 2],
                                          weights=weights)
    grad = (cache.dlogits @ model.head_weight)[T]  # dL_T/dh_T: through the head only
    for j in range(T + 1):
        assert np.linalg.norm(grad) == pytest.approx(norms[j], rel=1e-10)
        grad = W.T @ ((1.0 - hs[T - j] ** 2) * grad)  # one Jacobian further back

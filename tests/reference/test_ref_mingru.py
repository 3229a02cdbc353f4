"""The NumPy minGRU: hand-written backward against finite differences (float64, <= 1e-6), and
seqlm.nn's MinGRU (every scan path) equal to it, forward and every gradient, in float64."""

import numpy as np
import pytest
import torch

from seqlm.nn.min_rnn import MinGRU
from seqlm.reference.gradcheck import check_gradients, format_report
from seqlm.reference.mingru import MinGRULayer

B, T, E, H = 3, 7, 4, 5


def setup(seed: int):
    rng = np.random.default_rng(seed)
    layer = MinGRULayer(E, H, rng)
    X = rng.normal(size=(B, T, E))
    h0 = rng.uniform(0.1, 1.0, size=(B, H))  # a minGRU's states are positive
    dHs, dh_last = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    return layer, X, h0, dHs, dh_last


def test_backward_matches_finite_differences():
    layer, X, h0, dHs, dh_last = setup(0)

    def loss() -> float:  # its gradient with respect to the states is dHs (+ dh_last on h_T)
        Hs, _ = layer.forward(X, h0)
        return float((Hs * dHs).sum() + (Hs[:, -1] * dh_last).sum())

    _, cache = layer.forward(X, h0)
    dX, dh0, grads = layer.backward(dHs, dh_last, cache)
    checks = check_gradients(loss, {**layer.params, "X": X, "h0": h0},
                             {**grads, "X": dX, "h0": dh0})
    assert all(c.passed(1e-6) for c in checks), format_report(checks)


def test_backward_is_a_reverse_linear_recurrence():
    """g_t = dL/dh_t obeys g_t = d_t + a_{t+1} g_{t+1}: read it off dh0 = a_0 g_0 at T = 2."""
    layer, X, h0, dHs, dh_last = setup(1)
    X, dHs = X[:, :2], dHs[:, :2]
    _, cache = layer.forward(X, h0)
    _, dh0, _ = layer.backward(dHs, dh_last, cache)
    a = 1.0 - cache.z  # (T, B, H)
    g1 = dHs[:, 1] + dh_last
    g0 = dHs[:, 0] + a[1] * g1
    np.testing.assert_allclose(dh0, a[0] * g0, rtol=1e-13, atol=0)


@pytest.mark.parametrize("scan", ["sequential", "log", "chunked"])
def test_torch_layer_equals_the_reference(scan):
    """Two reference layers chained against a 2-layer MinGRU stack, same weights."""
    rng = np.random.default_rng(2)
    refs = [MinGRULayer(E, H, rng), MinGRULayer(H, H, rng)]
    ours = MinGRU(E, H, num_layers=2, scan=scan, chunk_size=3).double()
    ours.load_state_dict({f"{k}_l{i}": torch.from_numpy(v.copy())
                          for i, r in enumerate(refs) for k, v in r.params.items()})
    X = rng.normal(size=(B, T, E))
    h0 = rng.uniform(0.1, 1.0, size=(2, B, H))
    dOut, dhn = rng.normal(size=(B, T, H)), rng.normal(size=(2, B, H))
    H0, c0 = refs[0].forward(X, h0[0])
    H1, c1 = refs[1].forward(H0, h0[1])
    dH0, dh0_1, g1 = refs[1].backward(dOut, dhn[1], c1)
    dX, dh0_0, g0 = refs[0].backward(dH0, dhn[0], c0)

    xt = torch.from_numpy(X).requires_grad_()
    st = torch.from_numpy(h0).requires_grad_()
    out, h_n = ours(xt, st)
    np.testing.assert_allclose(out.detach().numpy(), H1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), np.stack([H0[:, -1], H1[:, -1]]),
                               rtol=1e-12, atol=1e-12)
    ((out * torch.from_numpy(dOut)).sum() + (h_n * torch.from_numpy(dhn)).sum()).backward()
    tol = dict(rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(xt.grad.numpy(), dX, **tol)
    np.testing.assert_allclose(st.grad.numpy(), np.stack([dh0_0, dh0_1]), **tol)
    for i, grads in enumerate((g0, g1)):
        for k, v in grads.items():
            np.testing.assert_allclose(getattr(ours, f"{k}_l{i}").grad.numpy(), v, **tol)

"""seqlm.nn cells and layers equal the NumPy reference cells (seqlm.reference) with the same
weights: one step and a whole window, forward and every gradient, in float64."""

import numpy as np
import pytest
import torch

from seqlm.nn.cells import GRUCell, LSTMCell, RNNCell
from seqlm.nn.recurrent import GRU, LSTM, RNN
from seqlm.reference.cells import make_cell
from seqlm.reference.recurrence import layer_backward, layer_forward

OURS = {"rnn": (RNNCell, RNN), "lstm": (LSTMCell, LSTM), "gru": (GRUCell, GRU)}
E, H, B, T = 4, 5, 3, 6


def _copy(ref, module, suffix=""):
    module.load_state_dict({f"{k}{suffix}": torch.from_numpy(v.copy())
                            for k, v in ref.params.items()})
    return module


@pytest.mark.parametrize("name", list(OURS))
def test_one_step_equals_reference(name):
    rng = np.random.default_rng(0)
    ref = make_cell(name, E, H, rng)
    ours = _copy(ref, OURS[name][0](E, H).double())
    x = rng.standard_normal((B, E))
    state = tuple(rng.standard_normal((B, H)) for _ in range(ref.num_states))
    new, cache = ref.forward(x, state)
    dstate = tuple(rng.standard_normal((B, H)) for _ in range(ref.num_states))
    dx, dprev, grads = ref.backward(dstate, cache)

    xt = torch.from_numpy(x).requires_grad_()
    st = [torch.from_numpy(s).requires_grad_() for s in state]
    out = ours(xt, tuple(st) if name == "lstm" else st[0])
    outs = out if name == "lstm" else (out,)
    for o, r in zip(outs, new, strict=True):
        np.testing.assert_allclose(o.detach().numpy(), r, rtol=1e-10, atol=1e-12)
    sum((o * torch.from_numpy(d)).sum() for o, d in zip(outs, dstate, strict=True)).backward()
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-10, atol=1e-12)
    for s, d in zip(st, dprev, strict=True):
        np.testing.assert_allclose(s.grad.numpy(), d, rtol=1e-10, atol=1e-12)
    for k, g in grads.items():
        np.testing.assert_allclose(getattr(ours, k).grad.numpy(), g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(OURS))
def test_window_equals_reference_layer(name):
    rng = np.random.default_rng(1)
    ref = make_cell(name, E, H, rng)
    ours = _copy(ref, OURS[name][1](E, H, batch_first=True).double(), suffix="_l0")
    X = rng.standard_normal((B, T, E))
    state = tuple(rng.standard_normal((B, H)) for _ in range(ref.num_states))
    Hs, final, cache = layer_forward(ref, X, state)
    dHs = rng.standard_normal((B, T, H))
    dfinal = tuple(rng.standard_normal((B, H)) for _ in range(ref.num_states))
    dX, dstate0, grads, _ = layer_backward(ref, dHs, dfinal, cache)

    xt = torch.from_numpy(X).requires_grad_()
    st = [torch.from_numpy(s[None]).requires_grad_() for s in state]  # (1, B, H)
    out, fin = ours(xt, tuple(st) if name == "lstm" else st[0])
    fins = fin if name == "lstm" else (fin,)
    np.testing.assert_allclose(out.detach().numpy(), Hs, rtol=1e-10, atol=1e-12)
    for f, r in zip(fins, final, strict=True):
        np.testing.assert_allclose(f[0].detach().numpy(), r, rtol=1e-10, atol=1e-12)
    loss = (out * torch.from_numpy(dHs)).sum() + sum(
        (f[0] * torch.from_numpy(d)).sum() for f, d in zip(fins, dfinal, strict=True))
    loss.backward()
    np.testing.assert_allclose(xt.grad.numpy(), dX, rtol=1e-9, atol=1e-11)
    for s, d in zip(st, dstate0, strict=True):
        np.testing.assert_allclose(s.grad[0].numpy(), d, rtol=1e-9, atol=1e-11)
    for k, g in grads.items():
        np.testing.assert_allclose(getattr(ours, f"{k}_l0").grad.numpy(), g, rtol=1e-9,
                                   atol=1e-11)

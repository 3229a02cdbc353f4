"""Each cell alone: finite differences, torch autograd, and torch.nn cells with our weights."""

import numpy as np
import pytest
import torch

from seqlm.reference.cells import CELLS, make_cell
from seqlm.reference.gradcheck import check_gradients, format_report

TORCH_CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
B, E, H = 3, 4, 5


def setup(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    cell = make_cell(name, E, H, rng)
    x = rng.normal(size=(B, E))
    state = tuple(rng.normal(size=(B, H)) * 0.5 for _ in range(cell.num_states))
    dstate = tuple(rng.normal(size=(B, H)) for _ in range(cell.num_states))  # upstream gradient
    return cell, x, state, dstate


def torch_cell(cell):
    """A torch.nn cell holding a copy of our weights (same names, same shapes)."""
    t = TORCH_CELLS[cell.name](E, H).double()
    with torch.no_grad():
        for name, value in cell.params.items():
            getattr(t, name).copy_(torch.from_numpy(value))
    return t


def torch_step(t, x, state):
    out = t(x, state if len(state) == 2 else state[0])
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", CELLS)
def test_step_gradients_match_finite_differences(name):
    cell, x, state, dstate = setup(name)
    # a scalar loss whose gradient with respect to the new state is exactly dstate
    def loss():
        new, _ = cell.forward(x, state)
        return float(sum((n * d).sum() for n, d in zip(new, dstate, strict=True)))
    new, cache = cell.forward(x, state)
    dx, dprev, grads = cell.backward(dstate, cache)
    arrays = {**cell.params, "x": x, **{f"state{i}": s for i, s in enumerate(state)}}
    analytic = {**grads, "x": dx, **{f"state{i}": d for i, d in enumerate(dprev)}}
    checks = check_gradients(loss, arrays, analytic)
    assert all(c.passed(1e-6) for c in checks), format_report(checks)


@pytest.mark.parametrize("name", CELLS)
def test_torch_cell_with_copied_weights_gives_the_same_state(name):
    cell, x, state, _ = setup(name, seed=1)
    new, _ = cell.forward(x, state)
    ours_again = torch_step(torch_cell(cell), torch.from_numpy(x),
                            tuple(torch.from_numpy(s) for s in state))
    for a, b in zip(new, ours_again, strict=True):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_step_gradients_match_torch_autograd(name):
    cell, x, state, dstate = setup(name, seed=2)
    new, cache = cell.forward(x, state)
    dx, dprev, grads = cell.backward(dstate, cache)
    t = torch_cell(cell)
    tx = torch.from_numpy(x).requires_grad_()
    ts = tuple(torch.from_numpy(s).requires_grad_() for s in state)
    out = torch_step(t, tx, ts)
    sum((o * torch.from_numpy(d)).sum() for o, d in zip(out, dstate, strict=True)).backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=1e-8)
    for ours, theirs in zip(dprev, ts, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=1e-8)
    for name_, g in grads.items():
        np.testing.assert_allclose(g, getattr(t, name_).grad.numpy(), rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", CELLS)
def test_torch_weights_copy_back_into_our_cell(name):
    t = TORCH_CELLS[name](E, H).double()
    cell = make_cell(name, E, H, np.random.default_rng(0))
    for pname, value in cell.params.items():
        value[...] = getattr(t, pname).detach().numpy()
    x = np.random.default_rng(3).normal(size=(B, E))
    state = cell.zero_state(B)
    ours, _ = cell.forward(x, state)
    theirs = torch_step(t, torch.from_numpy(x), tuple(torch.from_numpy(s) for s in state))
    np.testing.assert_allclose(ours[0], theirs[0].detach().numpy(), rtol=0, atol=1e-12)


def test_lstm_forget_gate_bias_starts_at_one():
    cell = make_cell("lstm", E, H, np.random.default_rng(0), forget_bias=1.0)
    total = cell.params["bias_ih"] + cell.params["bias_hh"]
    np.testing.assert_array_equal(total[H:2 * H], np.ones(H))


def test_parameter_shapes_follow_torch():
    for name, gates in {"rnn": 1, "lstm": 4, "gru": 3}.items():
        cell = make_cell(name, E, H, np.random.default_rng(0))
        t = TORCH_CELLS[name](E, H)
        assert {k: v.shape for k, v in cell.params.items()} == {
            k: tuple(v.shape) for k, v in t.named_parameters()}
        assert cell.params["weight_ih"].shape == (gates * H, E)

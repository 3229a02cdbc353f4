"""Newton's method over the sequence (`seqlm.nn.newton`): the same states and gradients as
seqlm's sequential GRU / LSTM layers, the structured Jacobians against torch.func, the
unconverged case reported, and `seqlm train --recurrence newton` end to end."""

import json

import pytest
import torch

from conftest import run_cli_json
from seqlm.config import LMConfig, TrainConfig
from seqlm.config.fields import from_dict, to_dict
from seqlm.errors import ConfigError
from seqlm.nn.cell_jacobians import NEWTON_CELLS
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.newton import (
    Newton,
    NewtonGRU,
    NewtonLSTM,
    NewtonNotConvergedError,
    newton_solve,
    solve_linear,
)
from seqlm.nn.recurrent import GRU, LSTM

PAIRS = {"gru": (GRU, NewtonGRU), "lstm": (LSTM, NewtonLSTM)}
TIGHT = {torch.float64: 1e-12, torch.float32: 1e-6}


def pair(cell: str, dtype, jacobian="full", solver="loop", layers=1, bidirectional=False):
    """(seqlm's sequential layer, the Newton layer with the same weights)."""
    torch.manual_seed(0)
    base, newton = PAIRS[cell]
    ref = base(5, 8, layers, batch_first=True, bidirectional=bidirectional).to(dtype)
    new = newton(5, 8, layers, batch_first=True, bidirectional=bidirectional,
                 newton=Newton(200, TIGHT[dtype], jacobian, solver, "error")).to(dtype)
    new.load_state_dict(ref.state_dict())
    return ref, new


def initial(cell: str, shape, dtype, carried: bool):
    if not carried:
        return None
    g = torch.Generator().manual_seed(1)
    parts = tuple(0.5 * torch.randn(shape, generator=g, dtype=dtype)
                  for _ in range(2 if cell == "lstm" else 1))
    return parts if cell == "lstm" else parts[0]


def flat(state):
    return torch.cat(state) if isinstance(state, tuple) else state


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("steps", [1, 2, 13, 31])
@pytest.mark.parametrize("carried", [False, True])
@pytest.mark.parametrize("solver", ["loop", "scan"])
def test_forward_equals_the_sequential_layer(cell, steps, carried, solver):
    ref, new = pair(cell, torch.float64, solver=solver, layers=2)
    x = torch.randn(3, steps, 5, dtype=torch.float64)
    state = initial(cell, (2, 3, 8), torch.float64, carried)
    (out_ref, s_ref), (out_new, s_new) = ref(x, state), new(x, state)
    assert torch.allclose(out_new, out_ref, rtol=0, atol=1e-10)
    assert torch.allclose(flat(s_new), flat(s_ref), rtol=0, atol=1e-10)
    assert all(1 <= k <= steps for k in new.iterations.values())  # T always suffices
    if steps == 1:
        assert set(new.iterations.values()) == {1}  # one step is solved exactly at once


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("jacobian,solver", [("full", "loop"), ("full", "scan"),
                                             ("diagonal", "loop"), ("diagonal", "scan")])
def test_float32_within_1e5_and_bidirectional(cell, jacobian, solver):
    ref, new = pair(cell, torch.float32, jacobian, solver, bidirectional=True)
    x = torch.randn(4, 37, 5)
    out_ref, _ = ref(x)
    out_new, _ = new(x)
    assert (out_new - out_ref).abs().max() <= 1e-5
    if jacobian == "full":  # Newton converges in a few steps; quasi-Newton takes more
        assert max(new.iterations.values()) <= 6


def loss_and_grads(model, x, state, weight):
    x = x.clone().requires_grad_()
    leaves = [s.clone().requires_grad_() for s in (state if isinstance(state, tuple)
                                                   else (state,))]
    out, final = model(x, tuple(leaves) if len(leaves) == 2 else leaves[0])
    loss = (out * weight).sum() + flat(final).pow(2).sum()
    grads = torch.autograd.grad(loss, [x, *leaves, *model.parameters()])
    return torch.cat([g.flatten() for g in grads])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("solver", ["loop", "scan"])
def test_gradients_equal_bptt(cell, dtype, tol, solver):
    ref, new = pair(cell, dtype, solver=solver, layers=2, bidirectional=True)
    x = torch.randn(2, 19, 5, dtype=dtype)
    state = initial(cell, (4, 2, 8), dtype, True)
    weight = torch.randn(2, 19, 16, dtype=dtype)
    g_ref, g_new = (loss_and_grads(m, x, state, weight) for m in (ref, new))
    assert (g_new - g_ref).norm() / g_ref.norm() <= tol


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_structured_jacobian_equals_torch_func(cell):
    torch.manual_seed(2)
    spec, hidden = NEWTON_CELLS[cell], 6
    gates = 3 if cell == "gru" else 4
    w, b = torch.randn(gates * hidden, hidden, dtype=torch.float64), torch.randn(
        gates * hidden, dtype=torch.float64)
    prev = torch.randn(2, 3, spec.state_size * hidden, dtype=torch.float64)
    gi = torch.randn(2, 3, gates * hidden, dtype=torch.float64)
    _, jac = spec.linearise(prev, gi, w, b)

    def one(s, x):
        return spec.evaluate(s[None, None], x[None, None], w, b)[0, 0]

    truth = torch.func.vmap(torch.func.vmap(torch.func.jacrev(one)))(prev, gi)
    assert torch.allclose(jac.dense(), truth, atol=1e-12)
    assert torch.allclose(jac.diagonal(), torch.diagonal(truth, dim1=-2, dim2=-1), atol=1e-12)
    v = torch.randn(2, spec.state_size * hidden, dtype=torch.float64)
    assert torch.allclose(jac.matvec(v, 1), (truth[:, 1] @ v[..., None])[..., 0])
    assert torch.allclose(jac.rmatvec(v, 2), (truth[:, 2].transpose(1, 2) @ v[..., None])[..., 0])


def test_the_two_solvers_agree_on_a_linear_recurrence():
    torch.manual_seed(3)
    a, b = (torch.randn(2, 11, 4, dtype=torch.float64) for _ in range(2))
    s0 = torch.randn(2, 4, dtype=torch.float64)
    loop, scan = (solve_linear(0.5 * a, b, s0, s) for s in ("loop", "scan"))
    truth, s = [], s0
    for t in range(11):
        s = 0.5 * a[:, t] * s + b[:, t]
        truth.append(s)
    assert torch.allclose(loop, torch.stack(truth, 1)) and torch.allclose(scan, loop)


def unconverged(on_failure: str):
    torch.manual_seed(4)
    gi, w = torch.randn(2, 20, 24), torch.randn(24, 8)
    return newton_solve(NEWTON_CELLS["gru"], gi, w, None, torch.zeros(2, 8),
                        Newton(2, 1e-6, "full", "loop", on_failure))


def test_an_unconverged_solve_is_an_error_or_a_warning_never_silent():
    with pytest.raises(NewtonNotConvergedError, match="stopped at 2 iterations with residual"):
        unconverged("error")
    with pytest.warns(RuntimeWarning, match="raise --newton-iterations"):
        states, iterations, residual = unconverged("warn")
    assert iterations == 2 and residual > 1e-6


def test_config_and_the_lm():
    with pytest.raises(ConfigError, match="recurrence"):
        LMConfig(cell="mingru", recurrence="newton")
    old = to_dict(TrainConfig())
    for name in [k for k in old["model"] if k == "recurrence" or k.startswith("newton_")]:
        del old["model"][name]  # a checkpoint written before the field existed
    assert from_dict(TrainConfig, old).model.recurrence == "sequential"
    small = dict(cell="gru", embedding_dim=8, hidden_size=8, num_layers=2, dropout=0.0)
    torch.manual_seed(0)
    seq = RecurrentLM(11, LMConfig(**small))
    newton = RecurrentLM(11, LMConfig(**small, recurrence="newton", newton_tolerance=1e-7))
    assert isinstance(newton.rnn, NewtonGRU)
    newton.load_state_dict(seq.state_dict())  # the same parameters, either way
    idx = torch.randint(0, 11, (3, 17))
    assert torch.allclose(newton(idx)[0], seq(idx)[0], atol=1e-5)


def test_seqlm_train_newton_runs_on_verbs(tmp_path):
    out = tmp_path / "run"
    result = run_cli_json("train", "--corpus", "verbs", "--size", "400", "--cell", "gru",
                          "--recurrence", "newton", "--hidden-size", "16", "--embedding-dim",
                          "8", "--batch-size", "4", "--window", "16", "--max-steps", "4",
                          "--eval-every", "2", "--eval-max-tokens", "300",
                          "--final-eval-max-tokens", "300", "--threads", "1", "--out", str(out))
    assert result["steps"] == 4 and result["status"] == "finished"
    model = json.loads((out / "manifest.json").read_text())["config"]["model"]
    assert model["recurrence"] == "newton" and model["newton_jacobian"] == "full"

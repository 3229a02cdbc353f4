"""A GRU or LSTM over a window by Newton's method on the whole trajectory (DEER: Lim et al.,
ICLR 2024, "Parallelizing non-linear sequential models over the sequence length"; ParaRNN:
arXiv 2510.21450).

The T states s_0 .. s_{T-1} of a window are the unknown of one system of equations,
s_t = f(s_{t-1}, x_t) for every t (s_{-1} the carried state). From a guess (zeros, or one
given), each Newton iteration linearises every step around the current trajectory,

    s_t^new = f(s_{t-1}) + J_t (s_{t-1}^new - s_{t-1}),   J_t = df/ds at s_{t-1},

which is a *linear* recurrence s_t^new = J_t s_{t-1}^new + b_t: f and J at all T steps are
computed at once (`seqlm.nn.cell_jacobians`, one matmul), and the recurrence is solved by an
associative scan. Iterating stops when the residual max |f(s_{t-1}) - s_t| over the window is
at most `tolerance`; after k iterations the first k steps are exact whatever J is, so T
iterations always suffice in exact arithmetic, and with the true J convergence near the
solution is quadratic. `jacobian`:

    full      the dense J_t (S x S): true Newton. The linear recurrence is a matrix scan:
              `solver="scan"` composes the affine maps by recursive doubling (Hillis & Steele
              1986): log2 T rounds of (B, T, S, S) matmuls, O(T S^3 log T) work;
              `solver="loop"` solves it step by step and matrix-free: J_t s costs one
              (B, H) x (H, G*H) product, as a step of the cell does (J is kept as P + Q W).
    diagonal  only diag(J_t) (quasi-Newton, Gonzalez et al. 2024): each solve is elementwise
              (`seqlm.nn.scan.LinearRecurrence` for "loop", doubling for "scan"), but
              convergence is linear, not quadratic: more iterations.

An iteration cap reached above the tolerance is never returned silently: `unconverged="error"`
raises `NewtonNotConvergedError`, `"warn"` warns and returns the last iterate.

Backward (`NewtonRecurrence`): at the solution the trajectory satisfies s = F(s), so the
gradient is that of BPTT, the adjoint recurrence lambda_t = dL/ds_t + J_{t+1}^T lambda_{t+1}
run backwards in time, solved by the same solver with the full J (exact whatever the
forward's `jacobian`); the parameters' gradients are then one vector-Jacobian product of f at all
steps at once. Leaves out: `lengths` (padded rows: the layer falls back to the loop), the
RNN cells, warm starts across windows in the layers (the functional call takes `guess`),
ParaRNN's diagonal-weight cell variants and its CUDA kernels.
"""

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

from seqlm.errors import SeqlmError
from seqlm.nn.cell_jacobians import NEWTON_CELLS, NewtonCell, StepJacobian
from seqlm.nn.recurrent import GRU, LSTM
from seqlm.nn.scan import LinearRecurrence


class NewtonNotConvergedError(SeqlmError):
    """The iteration cap was reached with the residual above the tolerance."""


@dataclass(frozen=True)
class Newton:
    """How the trajectory is solved; the defaults live in `seqlm.config.LMConfig` (newton_*)."""

    iterations: int  # the cap
    tolerance: float  # on max |f(s_{t-1}) - s_t|
    jacobian: str  # full | diagonal
    solver: str  # scan | loop
    unconverged: str  # error | warn


def _doubling(a: Tensor, b: Tensor, dense: bool) -> Tensor:
    """s_t = a_t s_{t-1} + b_t from s_{-1} = 0 for all t, by recursive doubling: after the
    round with stride k, (a_t, b_t) is the composition of steps t-2k+1 .. t."""
    k = 1
    while k < b.shape[1]:
        a_cur, b_prev = a[:, k:], b[:, :-k]
        moved = (a_cur @ b_prev[..., None])[..., 0] if dense else a_cur * b_prev
        b = torch.cat([b[:, :k], b[:, k:] + moved], dim=1)
        if 2 * k < b.shape[1]:  # the last round needs no products of a
            a = torch.cat([a[:, :k], a_cur @ a[:, :-k] if dense else a_cur * a[:, :-k]], 1)
        k *= 2
    return b


def solve_linear(a: StepJacobian | Tensor, b: Tensor, s0: Tensor, solver: str) -> Tensor:
    """s_t = a_t s_{t-1} + b_t, t = 0 .. T-1, from s0 (B, S): `a` the structured J or a
    diagonal (B, T, S), b (B, T, S) -> s (B, T, S)."""
    if not isinstance(a, StepJacobian):  # diagonal: elementwise
        if solver == "loop":
            return LinearRecurrence.apply(a, b, s0)
        return _doubling(a, torch.cat([(b[:, 0] + a[:, 0] * s0)[:, None], b[:, 1:]], 1), False)
    if solver == "loop":  # matrix-free: one (B, H) x (H, G*H) product per step
        out, s = torch.empty_like(b), s0
        for t in range(b.shape[1]):
            s = out[:, t] = a.matvec(s, t) + b[:, t]  # (B, S)
        return out
    first = b[:, 0] + a.matvec(s0, 0)
    return _doubling(a.dense(), torch.cat([first[:, None], b[:, 1:]], dim=1), True)


def _shifted(s0: Tensor, states: Tensor) -> Tensor:
    """The state before each step: (B, T, S) from s0 (B, S) and the states after."""
    return torch.cat([s0[:, None], states[:, :-1]], dim=1)


def _linearised(cell: NewtonCell, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None, s0: Tensor,
                states: Tensor, jacobian: str) -> tuple[StepJacobian | Tensor, Tensor, Tensor]:
    """(J_t or its diagonal, b_t = f(s_{t-1}) - J_t s_{t-1}, f(s_{t-1}) - s_t): the linear
    recurrence around `states` and the residual of each step."""
    prev = _shifted(s0, states)
    value, jac = cell.linearise(prev, gi, w_hh, b_hh)
    if jacobian == "diagonal":
        diag = jac.diagonal()  # (B, T, S)
        return diag, value - diag * prev, value - states
    return jac, value - jac.matvec(prev), value - states


def newton_step(cell: NewtonCell, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None, s0: Tensor,
                states: Tensor, jacobian: str = "full", solver: str = "scan") -> Tensor:
    """One Newton iteration from `states` (B, T, S): the new trajectory (B, T, S)."""
    jac, b, _ = _linearised(cell, gi, w_hh, b_hh, s0, states, jacobian)
    return solve_linear(jac, b, s0, solver)


def newton_solve(cell: NewtonCell, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None, s0: Tensor,
                 newton: Newton, guess: Tensor | None = None) -> tuple[Tensor, int, float]:
    """(trajectory (B, T, S), Newton iterations used, final residual): gi (B, T, G*H), s0 (B, S).
    Raises or warns (as `newton.unconverged` says) when the cap is reached first."""
    states = torch.zeros_like(gi[..., : s0.shape[-1]]) if guess is None else guess
    for done in range(newton.iterations + 1):
        jac, b, gap = _linearised(cell, gi, w_hh, b_hh, s0, states, newton.jacobian)
        residual = float(gap.abs().max())
        if residual <= newton.tolerance:
            return states, done, residual
        if done == newton.iterations or residual != residual or residual == float("inf"):
            break  # the cap, or a diverged iterate (NaN or inf)
        states = solve_linear(jac, b, s0, newton.solver)
    message = (f"Newton over the sequence stopped at {done} iterations with residual "
               f"{residual:.2e} > tolerance {newton.tolerance:.1e} (T = {gi.shape[1]}): raise "
               "--newton-iterations (T always suffices), loosen --newton-tolerance, use "
               "--newton-jacobian full, or --recurrence sequential")
    if newton.unconverged == "error":
        raise NewtonNotConvergedError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=2)
    return states, done, residual


def adjoint(cell: NewtonCell, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None, s0: Tensor,
            states: Tensor, d_states: Tensor, solver: str) -> Tensor:
    """lambda (B, T, S): lambda_t = dL/ds_t + J_{t+1}^T lambda_{t+1}, with the exact J."""
    with torch.no_grad():
        _, jac = cell.linearise(_shifted(s0, states), gi, w_hh, b_hh)
        if solver == "loop":  # matrix-free, backwards in time
            lam = torch.empty_like(d_states)
            lam[:, -1] = d_states[:, -1]
            for t in range(d_states.shape[1] - 2, -1, -1):
                lam[:, t] = d_states[:, t] + jac.rmatvec(lam[:, t + 1], t + 1)
            return lam
        dense = jac.dense()  # the reverse recurrence as a forward one on flipped time
        after = torch.cat([dense[:, 1:], torch.zeros_like(dense[:, :1])], 1).transpose(-1, -2)
        return _doubling(after.flip(1), d_states.flip(1), True).flip(1)


class NewtonRecurrence(torch.autograd.Function):
    """apply(gi (B, T, G*H), w_hh (G*H, H), b_hh | None, s0 (B, S), cell, newton)
    -> (states (B, T, S), iterations (a 0-d tensor, not differentiable))."""

    @staticmethod
    def forward(ctx, gi, w_hh, b_hh, s0, cell, newton):
        states, iterations, _ = newton_solve(cell, gi, w_hh, b_hh, s0, newton)
        ctx.save_for_backward(gi, w_hh, b_hh, s0, states)
        ctx.cell, ctx.solver = cell, newton.solver
        count = torch.tensor(iterations)
        ctx.mark_non_differentiable(count)
        return states, count

    @staticmethod
    def backward(ctx, d_states, _):
        gi, w_hh, b_hh, s0, states = ctx.saved_tensors
        lam = adjoint(ctx.cell, gi, w_hh, b_hh, s0, states, d_states, ctx.solver)
        with torch.enable_grad():
            inputs = [t.detach().requires_grad_() for t in (gi, w_hh, s0)]
            bias = None if b_hh is None else b_hh.detach().requires_grad_()
            prev = _shifted(inputs[2], states.detach())
            value = ctx.cell.evaluate(prev, inputs[0], inputs[1], bias)
            wrt = inputs + ([] if bias is None else [bias])
            grads = torch.autograd.grad(value, wrt, lam)  # backprop into every step at once
        d_gi, d_w, d_s0 = grads[:3]
        return d_gi, d_w, None if bias is None else grads[3], d_s0, None, None


def newton_states(kind: str, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                  state: tuple[Tensor, ...], newton: Newton
                  ) -> tuple[Tensor, tuple[Tensor, ...], int]:
    """(output h (B, T, H), final state tuple, iterations) of one direction by Newton."""
    cell = NEWTON_CELLS[kind]
    s0 = torch.cat(state, dim=-1)  # (B, S): [h] or [h, c]
    states, count = NewtonRecurrence.apply(gi, w_hh, b_hh, s0, cell, newton)
    final = states[:, -1].chunk(cell.state_size, dim=-1)
    return states[..., : state[0].shape[-1]], tuple(final), int(count)


class _NewtonDirections:
    """Mixed into seqlm's GRU / LSTM layers: the same parameters (checkpoints move between
    `--recurrence sequential` and `newton` freely), each unpadded direction by Newton.
    `iterations` holds the last forward's count per direction (`_l0`, `_l0_reverse`, ...): a
    readout for measurements, never read by the computation."""

    def __init__(self, *args, newton: Newton, **kwargs):
        super().__init__(*args, **kwargs)
        self.newton = newton
        self.iterations: dict[str, int] = {}

    def _direction(self, x, suffix, reverse, state, lengths, mask, products=None):
        if mask is not None:  # padded rows: the loop (see the module's "leaves out")
            return super()._direction(x, suffix, reverse, state, lengths, mask, products)
        w_ih, w_hh_t, b_in, b_step = self.direction_weights(suffix)
        if reverse:
            x = x.flip(1)
        gi = torch.nn.functional.linear(x, w_ih, b_in)  # (B, T, G*H): all steps at once
        output, final, self.iterations[suffix] = newton_states(
            self.kind.name, gi, w_hh_t.t(), b_step, state, self.newton)
        return (output.flip(1) if reverse else output), final


class NewtonGRU(_NewtonDirections, GRU):
    """seqlm's GRU layer (same call, same parameters) solved by Newton; `newton=` required."""


class NewtonLSTM(_NewtonDirections, LSTM):
    """seqlm's LSTM layer (same call, same parameters) solved by Newton; `newton=` required."""

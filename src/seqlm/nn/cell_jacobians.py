"""The GRU and LSTM cells evaluated at every step of a trajectory at once, with their Jacobians
with respect to the state, written out: what a Newton step over the sequence linearises.

Given the states before each step, `prev (B, T, S)`, and each step's input projection
`gi (B, T, G*H)` (seqlm's and torch's layout, gate order GRU r, z, n and LSTM i, f, g, o), one
call gives `f(prev) (B, T, S)` — every step of the cell, all steps in one matmul because the
previous states are known — and `J_t = df/ds` at each prev_t. With the rows of W_hh split by
gate, W_g (H, H), and "c ⊙rows W" scaling row i of W by c_i:

    GRU   state h (S = H); n = tanh(gi_n + r * a), a = W_n h + b_hn, h' = n + z (h - n)
          J = diag(z) + c_r ⊙rows W_r + c_z ⊙rows W_z + c_n ⊙rows W_n
          c_n = (1 - z)(1 - n^2) r   c_r = (1 - z)(1 - n^2) a r (1 - r)   c_z = (h - n) z (1 - z)
    LSTM  state [h, c] (S = 2H); c' = f c + i g, h' = o tanh(c'), k = o (1 - tanh^2 c')
          dc'/dh = Σ_g d_g ⊙rows W_g with d_i = g i (1 - i), d_f = c f (1 - f), d_g = i (1 - g^2)
          dc'/dc = diag(f)     dh'/dh = k ⊙rows dc'/dh + tanh(c') o (1 - o) ⊙rows W_o
          dh'/dc = diag(k f)

Both are kept in one structured form, `StepJacobian`, never as T dense matrices unless asked:
J = P + Q W R, with R taking the h block of the state, W = W_hh (G*H, H), Q block rows of
diagonal gate coefficients q (B, T, R, G, H) and P diagonal blocks p (B, T, R, R, H) (GRU:
P = diag(z); LSTM: P = [[0, diag(k f)], [0, diag(f)]]). Then J_t s and J_t^T lambda cost one
(B, H) x (H, G*H) matmul, as a step of the cell does (`matvec`, `rmatvec`); `dense()` forms
(B, T, S, S) for the matrix scan, `diagonal()` (B, T, S) for quasi-Newton (Gonzalez et al.
2024): the same formulas with W_g replaced by diag(W_g).
Checked against torch.func.jacrev in tests/nn/test_newton.py and by hand in NumPy
(`seqlm.reference.newton`). Leaves out: the RNN cells, block-diagonal (2x2 per unit) LSTM
approximations.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class StepJacobian:
    """J_t = P_t + Q_t W R for every step: p (B, T, R, R, H), q (B, T, R, G, H), w (G*H, H)."""

    p: Tensor
    q: Tensor
    w: Tensor

    def __post_init__(self) -> None:  # W^T laid out once: the step loop's product reads it
        object.__setattr__(self, "w_t", self.w.t().contiguous())

    def _gates(self, h: Tensor) -> Tensor:
        """W_g h for every gate: h (..., H) -> (..., G, H)."""
        return (h @ self.w_t).unflatten(-1, (self.q.shape[-2], -1))

    def matvec(self, s: Tensor, t: int | None = None) -> Tensor:
        """J_t s: s (B, S) at step t, or (B, T, S) for every step at once."""
        p, q = (self.p, self.q) if t is None else (self.p[:, t], self.q[:, t])
        blocks = s.unflatten(-1, (p.shape[-2], -1))  # (..., R, H)
        out = (p * blocks[..., None, :, :]).sum(-2)  # Σ_j diag(p_ij) s_j
        out = out + (q * self._gates(blocks[..., 0, :])[..., None, :, :]).sum(-2)
        return out.flatten(-2)

    def rmatvec(self, lam: Tensor, t: int) -> Tensor:
        """J_t^T lambda: lambda (B, S) -> (B, S)."""
        p, q = self.p[:, t], self.q[:, t]
        blocks = lam.unflatten(-1, (p.shape[-2], -1))  # (B, R, H)
        out = (p * blocks[..., :, None, :]).sum(-3)  # Σ_i diag(p_ij) lambda_i
        mixed = (q * blocks[..., :, None, :]).sum(-3).flatten(-2) @ self.w  # (B, H)
        return torch.cat([out[:, :1] + mixed[:, None], out[:, 1:]], dim=1).flatten(-2)

    def dense(self) -> Tensor:
        """(B, T, S, S)."""
        gates, hidden = self.q.shape[3], self.w.shape[1]
        w = self.w.view(gates, hidden, hidden)
        mixed = (self.q[..., None] * w).sum(-3)  # (B, T, R, H, H): rows of W_g scaled
        eye = torch.eye(hidden, dtype=w.dtype, device=w.device)
        out = self.p[..., None] * eye  # (B, T, R, R, H, H)
        out[:, :, :, 0] += mixed
        return out.transpose(3, 4).flatten(4, 5).flatten(2, 3)

    def diagonal(self) -> Tensor:
        """(B, T, S): the diagonal of J_t."""
        gates, hidden = self.q.shape[3], self.w.shape[1]
        w_diag = torch.diagonal(self.w.view(gates, hidden, hidden), dim1=1, dim2=2)
        out = torch.diagonal(self.p, dim1=2, dim2=3).movedim(-1, 2).clone()  # (B, T, R, H)
        out[:, :, 0] += (self.q[:, :, 0] * w_diag).sum(2)
        return out.flatten(2)


Evaluate = Callable[[Tensor, Tensor, Tensor, Tensor | None], Tensor]
Linearise = Callable[[Tensor, Tensor, Tensor, Tensor | None], tuple[Tensor, StepJacobian]]


def _gru_parts(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    gh = prev @ w_hh.t() if b_hh is None else prev @ w_hh.t() + b_hh  # (B, T, 3H)
    hidden = prev.shape[-1]
    r, z = torch.sigmoid(gi[..., : 2 * hidden] + gh[..., : 2 * hidden]).chunk(2, dim=-1)
    a = gh[..., 2 * hidden :]  # (B, T, H): W_n h + b_hn, inside the reset gate's product
    n = torch.tanh(gi[..., 2 * hidden :] + r * a)
    return r, z, a, n


def gru_evaluate(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """h' for every step: prev (B, T, H), gi (B, T, 3H) -> (B, T, H)."""
    _, z, _, n = _gru_parts(prev, gi, w_hh, b_hh)
    return n + z * (prev - n)


def gru_linearise(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None
                  ) -> tuple[Tensor, StepJacobian]:
    """(h' (B, T, H), J): P = diag(z), Q = [c_r, c_z, c_n]."""
    r, z, a, n = _gru_parts(prev, gi, w_hh, b_hh)
    through_n = (1 - z) * (1 - n * n)  # dh'/d(pre-activation of n)
    q = torch.stack([through_n * a * r * (1 - r), (prev - n) * z * (1 - z),
                     through_n * r], dim=-2)  # (B, T, 3, H): rows of W_r, W_z, W_n
    return n + z * (prev - n), StepJacobian(z[:, :, None, None], q[:, :, None], w_hh)


def _lstm_parts(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    hidden = prev.shape[-1] // 2
    h, c = prev[..., :hidden], prev[..., hidden:]
    gates = gi + h @ w_hh.t() if b_hh is None else gi + h @ w_hh.t() + b_hh  # (B, T, 4H)
    i, f, o = (torch.sigmoid(gates[..., k * hidden : (k + 1) * hidden]) for k in (0, 1, 3))
    g = torch.tanh(gates[..., 2 * hidden : 3 * hidden])
    c_new = f * c + i * g
    return i, f, g, o, c, c_new, torch.tanh(c_new)


def lstm_evaluate(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """[h', c'] for every step: prev (B, T, 2H), gi (B, T, 4H) -> (B, T, 2H)."""
    _, _, _, o, _, c_new, tc = _lstm_parts(prev, gi, w_hh, b_hh)
    return torch.cat([o * tc, c_new], dim=-1)


def lstm_linearise(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None
                   ) -> tuple[Tensor, StepJacobian]:
    """([h', c'] (B, T, 2H), J): P = [[0, k f], [0, f]], Q rows [k d + tc o (1 - o) e_o, d]."""
    i, f, g, o, c, c_new, tc = _lstm_parts(prev, gi, w_hh, b_hh)
    zero = torch.zeros_like(i)
    k = o * (1 - tc * tc)  # dh'/dc'
    into_c = torch.stack([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), zero], dim=-2)
    into_h = k[..., None, :] * into_c + torch.stack([zero, zero, zero, tc * o * (1 - o)], -2)
    p = torch.stack([torch.stack([zero, k * f], -2), torch.stack([zero, f], -2)], -3)
    jac = StepJacobian(p, torch.stack([into_h, into_c], dim=-3), w_hh)  # (B, T, 2, .., H)
    return torch.cat([o * tc, c_new], dim=-1), jac


@dataclass(frozen=True)
class NewtonCell:
    """A cell kind as Newton's method sees it: the state stacked as [h] or [h, c]."""

    name: str
    state_size: int  # R: 1 for (h,), 2 for (h, c); S = R * H
    evaluate: Evaluate
    linearise: Linearise


NEWTON_CELLS: dict[str, NewtonCell] = {
    "gru": NewtonCell("gru", 1, gru_evaluate, gru_linearise),
    "lstm": NewtonCell("lstm", 2, lstm_evaluate, lstm_linearise),
}

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

`jacobian="full"` forms J densely, (B, T, S, S); `"diagonal"` only its diagonal (B, T, S)
(quasi-Newton, Gonzalez et al. 2024): the same formulas with W_g replaced by diag(W_g).
Checked against torch.func.jacrev in tests/nn/test_newton.py and by hand in NumPy
(`seqlm.reference.newton`). Leaves out: the RNN cells, block-diagonal (2x2 per unit) LSTM
approximations.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Evaluate = Callable[[Tensor, Tensor, Tensor, Tensor | None], Tensor]
Linearise = Callable[[Tensor, Tensor, Tensor, Tensor | None, bool], tuple[Tensor, Tensor]]


def _rows(coefficients: Tensor, w: Tensor, full: bool) -> Tensor:
    """Σ_g c_g ⊙rows W_g: coefficients (B, T, G, H), w (G*H, H) -> (B, T, H, H), or its
    diagonal (B, T, H)."""
    gates, hidden = coefficients.shape[-2], coefficients.shape[-1]
    w = w.view(gates, hidden, hidden)
    if full:
        return torch.einsum("btgi,gij->btij", coefficients, w)
    return torch.einsum("btgi,gi->bti", coefficients, torch.diagonal(w, dim1=1, dim2=2))


def _gru_parts(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    gh = prev @ w_hh.t() if b_hh is None else torch.addmm(b_hh, prev.flatten(0, 1),
                                                           w_hh.t()).view(*prev.shape[:2], -1)
    hidden = prev.shape[-1]
    r, z = torch.sigmoid(gi[..., : 2 * hidden] + gh[..., : 2 * hidden]).chunk(2, dim=-1)
    a = gh[..., 2 * hidden :]  # (B, T, H): W_n h + b_hn, inside the reset gate's product
    n = torch.tanh(gi[..., 2 * hidden :] + r * a)
    return r, z, a, n


def gru_evaluate(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """h' for every step: prev (B, T, H), gi (B, T, 3H) -> (B, T, H)."""
    _, z, _, n = _gru_parts(prev, gi, w_hh, b_hh)
    return n + z * (prev - n)


def gru_linearise(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                  full: bool) -> tuple[Tensor, Tensor]:
    """(h' (B, T, H), J (B, T, H, H) or its diagonal (B, T, H))."""
    r, z, a, n = _gru_parts(prev, gi, w_hh, b_hh)
    through_n = (1 - z) * (1 - n * n)  # dh'/d(pre-activation of n)
    coefficients = torch.stack([through_n * a * r * (1 - r), (prev - n) * z * (1 - z),
                                through_n * r], dim=-2)  # (B, T, 3, H): rows of W_r, W_z, W_n
    rows = _rows(coefficients, w_hh, full)
    jac = rows + torch.diag_embed(z) if full else rows + z
    return n + z * (prev - n), jac


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


def lstm_linearise(prev: Tensor, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                   full: bool) -> tuple[Tensor, Tensor]:
    """([h', c'] (B, T, 2H), J (B, T, 2H, 2H) or its diagonal (B, T, 2H))."""
    i, f, g, o, c, c_new, tc = _lstm_parts(prev, gi, w_hh, b_hh)
    zero = torch.zeros_like(i)
    k = o * (1 - tc * tc)  # dh'/dc'
    into_c = torch.stack([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), zero], dim=-2)
    into_h = k[..., None, :] * into_c + torch.stack([zero, zero, zero, tc * o * (1 - o)], -2)
    dc_dh, dh_dh = _rows(into_c, w_hh, full), _rows(into_h, w_hh, full)  # (B, T, 4, H) each
    value = torch.cat([o * tc, c_new], dim=-1)
    if not full:
        return value, torch.cat([dh_dh, f], dim=-1)
    top = torch.cat([dh_dh, torch.diag_embed(k * f)], dim=-1)  # d h' / d [h, c]
    bottom = torch.cat([dc_dh, torch.diag_embed(f)], dim=-1)  # d c' / d [h, c]
    return value, torch.cat([top, bottom], dim=-2)


@dataclass(frozen=True)
class NewtonCell:
    """A cell kind as Newton's method sees it: `width(H)` = S, the stacked state's width."""

    name: str
    state_size: int  # 1: (h,), 2: (h, c), stacked as [h, c]
    evaluate: Evaluate
    linearise: Linearise


NEWTON_CELLS: dict[str, NewtonCell] = {
    "gru": NewtonCell("gru", 1, gru_evaluate, gru_linearise),
    "lstm": NewtonCell("lstm", 2, lstm_evaluate, lstm_linearise),
}

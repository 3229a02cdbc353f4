"""Recurrent cells built from matmuls, elementwise ops and autograd: RNN, LSTM, GRU.

Equations and parameter layout follow torch.nn.RNNCell / LSTMCell / GRUCell exactly, so weights
copy one-to-one (`weight_ih (G*H, E)`, `weight_hh (G*H, H)`, `bias_ih`, `bias_hh`; gate order
LSTM i, f, g, o and GRU r, z, n):

    RNN   h' = act(W_ih x + b_ih + W_hh h + b_hh)                           act = tanh | relu
    LSTM  i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh)    (Hochreiter &
          c' = f*c + i*g        h' = o*tanh(c')                              Schmidhuber 1997)
    GRU   r, z = σ(W_ir x + b_ir + W_hr h + b_hr), σ(W_iz x + ... )          (Cho et al. 2014)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     h' = (1-z)*n + z*h

Each cell kind is a `CellKind` in a small registry: the number of gates, whether the state
carries a memory `c`, and a `step(gi, state, w_hh_t, b_hh) -> state` that takes the input
projection `gi = W_ih x + b` already computed. The recurrent layers (`seqlm.nn.recurrent`)
compute `gi` for all time steps in one matmul and call `step` once per step (or a cell kind's
whole-sequence path from `seqlm.nn.fast`); the cells below call it once. States are tuples:
`(h,)` or `(h, c)`. tanh is computed through sigmoid (`seqlm.nn.fast.activations`).

Leaves out: unbatched (1-D) inputs, LSTM projections (`proj_size`), peepholes.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.nn.fast.activations import tanh

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State, Tensor, Tensor | None], State]


def _recurrent_term(gi: Tensor, h: Tensor, w_hh_t: Tensor) -> Tensor:
    """gi + h @ W_hh^T in one fused op: (B, G*H)."""
    return torch.addmm(gi, h, w_hh_t)


def rnn_tanh_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
    """One Elman step; `gi` already holds b_ih + b_hh (the layer folds them)."""
    pre = _recurrent_term(gi if b_hh is None else gi + b_hh, state[0], w_hh_t)  # (B, H)
    return (tanh(pre),)


def rnn_relu_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
    pre = _recurrent_term(gi if b_hh is None else gi + b_hh, state[0], w_hh_t)  # (B, H)
    return (torch.relu(pre),)


def lstm_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
    """One LSTM step: gates i, f, g, o from one (B, 4H) pre-activation."""
    h, c = state
    gates = _recurrent_term(gi if b_hh is None else gi + b_hh, h, w_hh_t)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * tanh(g)  # (B, H)
    h = torch.sigmoid(o) * tanh(c)
    return h, c


def gru_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
    """One GRU step. b_hn sits inside the reset gate's product, so b_hh cannot be folded
    into `gi` and is added here."""
    h = state[0]
    gh = h @ w_hh_t if b_hh is None else torch.addmm(b_hh, h, w_hh_t)  # (B, 3H)
    hidden = h.shape[1]
    rz = torch.sigmoid(gi[:, : 2 * hidden] + gh[:, : 2 * hidden])  # (B, 2H)
    r, z = rz.chunk(2, dim=1)
    n = tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])  # (B, H)
    return (n + z * (h - n),)  # = (1 - z) * n + z * h


@dataclass(frozen=True)
class CellKind:
    """What differs between cell families; chosen once, at construction."""

    name: str
    gates: int  # G: rows of weight_ih are G*H
    state_size: int  # 1 for (h,), 2 for (h, c)
    step: Step
    folds_hh_bias: bool  # b_hh can be added to the input projection once for all steps


CELL_KINDS: dict[str, CellKind] = {
    "rnn_tanh": CellKind("rnn_tanh", 1, 1, rnn_tanh_step, True),
    "rnn_relu": CellKind("rnn_relu", 1, 1, rnn_relu_step, True),
    "lstm": CellKind("lstm", 4, 2, lstm_step, True),
    "gru": CellKind("gru", 3, 1, gru_step, False),
}


def cell_kind(name: str) -> CellKind:
    if name not in CELL_KINDS:
        raise ValueError(f"unknown cell kind {name!r}; known: {', '.join(CELL_KINDS)}")
    return CELL_KINDS[name]


def init_uniform_(params: list[nn.Parameter], hidden_size: int) -> None:
    """torch's init for recurrent weights and biases: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in params:
            p.uniform_(-bound, bound)


def set_forget_bias_(bias_ih: Tensor, bias_hh: Tensor, value: float) -> None:
    """Make the LSTM forget gate's total bias `value` (Jozefowicz et al. 2015 suggest 1)."""
    hidden = bias_ih.shape[0] // 4
    with torch.no_grad():
        bias_ih[hidden : 2 * hidden] = value
        bias_hh[hidden : 2 * hidden] = 0.0


class _Cell(nn.Module):
    """One cell: parameters named and shaped like torch.nn.*Cell, the step from its kind."""

    kind: CellKind

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.kind.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform_(list(self.parameters()), self.hidden_size)

    def _step(self, x: Tensor, state: State | None) -> State:
        """x (B, E), state tuple of (B, H) or None (zeros) -> new state tuple."""
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros,) * self.kind.state_size
        fold = self.kind.folds_hh_bias and self.bias_hh is not None
        b_in = self.bias_ih + self.bias_hh if fold else self.bias_ih
        gi = F.linear(x, self.weight_ih, b_in)  # (B, G*H)
        return self.kind.step(gi, state, self.weight_hh.t(), None if fold else self.bias_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_Cell):
    """Elman cell, tanh or relu. `forward(x (B, E), h (B, H) | None) -> h (B, H)`."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.kind = CELL_KINDS[f"rnn_{nonlinearity}"]
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, None if hx is None else (hx,))[0]


class LSTMCell(_Cell):
    """`forward(x (B, E), (h, c) each (B, H) | None) -> (h, c)`. `forget_bias`, if given,
    sets the forget gate's total bias after torch's init (default: torch's init unchanged)."""

    kind = CELL_KINDS["lstm"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 forget_bias: float | None = None):
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size, bias)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is not None and self.bias_ih is not None:
            set_forget_bias_(self.bias_ih, self.bias_hh, self.forget_bias)

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(x, None if hx is None else tuple(hx))
        return h, c


class GRUCell(_Cell):
    """`forward(x (B, E), h (B, H) | None) -> h (B, H)`."""

    kind = CELL_KINDS["gru"]

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, None if hx is None else (hx,))[0]

"""The Elman RNN cell with tanh, as `torch.nn.RNNCell(nonlinearity="tanh")`.

    h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)

Elman (1990), "Finding structure in time". Its Jacobian dh'/dh = diag(1 - h'^2) W_hh is
the product that vanishes or explodes (`seqlm vanishing`). Leaves out: the ReLU variant.
"""

import numpy as np

from seqlm.reference.cell import Cell, State
from seqlm.reference.primitives import dtanh


class RNNCell(Cell):
    name = "rnn"
    num_gates = 1
    num_states = 1

    def gates(self, ax: np.ndarray, ah: np.ndarray, state: State) -> tuple[State, tuple]:
        h = np.tanh(ax + ah)  # (B, H)
        return (h,), (h,)

    def gates_backward(self, dstate: State, cache: tuple) -> tuple[np.ndarray, np.ndarray, State]:
        (h,) = cache
        (dh,) = dstate
        da = dh * dtanh(h)  # backprop into the pre-activation ax + ah through tanh
        no_direct = np.zeros_like(dh)  # h_prev reaches h' only through W_hh
        return da, da, (no_direct,)

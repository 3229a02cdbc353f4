"""The GRU cell, as `torch.nn.GRUCell`: gates in torch's order r, z, n.

    [x_r x_z x_n] = x W_ih^T + b_ih         [h_r h_z h_n] = h W_hh^T + b_hh
    r = sigma(x_r + h_r)   z = sigma(x_z + h_z)   n = tanh(x_n + r * h_n)
    h' = (1 - z) * n + z * h

Cho et al. (2014). The reset gate multiplies h W_hn^T + b_hn *after* the matrix product
(torch's and cuDNN's form, not the paper's r * h inside the product), which is why the
gradients of the input and hidden maps differ in the n block. dh'/dh holds diag(z): an
additive path like the LSTM's. Leaves out: the paper's reset-before-product variant.
"""

import numpy as np

from seqlm.reference.cell import Cell, State
from seqlm.reference.primitives import dsigmoid, dtanh, sigmoid


class GRUCell(Cell):
    name = "gru"
    num_gates = 3
    num_states = 1

    def gates(self, ax: np.ndarray, ah: np.ndarray, state: State) -> tuple[State, tuple]:
        (h_prev,) = state
        H = self.hidden_size
        r = sigmoid(ax[:, :H] + ah[:, :H])  # reset gate
        z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])  # update gate
        ah_n = ah[:, 2 * H:]  # h W_hn^T + b_hn, (B, H)
        n = np.tanh(ax[:, 2 * H:] + r * ah_n)  # candidate
        h = (1.0 - z) * n + z * h_prev  # (B, H)
        return (h,), (r, z, n, ah_n, h_prev)

    def gate_values(self, cache: tuple) -> dict[str, np.ndarray]:
        r, z, n, _, _ = cache[2]
        return {"r": r, "z": z, "n": n}

    def gates_backward(self, dstate: State, cache: tuple) -> tuple[np.ndarray, np.ndarray, State]:
        r, z, n, ah_n, h_prev = cache
        (dh,) = dstate
        dn = dh * (1.0 - z)  # backprop into n: h = (1 - z) n + z h_prev
        dz = dh * (h_prev - n)  # backprop into z
        dh_direct = dh * z  # backprop into h_prev along the z path, no matrix
        dan = dn * dtanh(n)  # backprop into n's pre-activation x_n + r h_n through tanh
        dr = dan * ah_n  # backprop into r: it multiplies h_n
        dar = dr * dsigmoid(r)  # backprop into r's pre-activation through sigma
        daz = dz * dsigmoid(z)  # backprop into z's pre-activation through sigma
        dax = np.concatenate([dar, daz, dan], axis=1)  # backprop into x W_ih^T + b_ih, (B, 3H)
        dah = np.concatenate([dar, daz, dan * r], axis=1)  # into h W_hh^T + b_hh: n block * r
        return dax, dah, (dh_direct,)

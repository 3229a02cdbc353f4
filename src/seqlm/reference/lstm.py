"""The LSTM cell, as `torch.nn.LSTMCell`: gates in torch's order i, f, g, o.

    [a_i a_f a_g a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh       (B, 4H)
    i = sigma(a_i)  f = sigma(a_f)  g = tanh(a_g)  o = sigma(a_o)
    c' = f * c + i * g          h' = o * tanh(c')

Hochreiter & Schmidhuber (1997) with the forget gate of Gers et al. (2000). The additive
cell path c' = f c + ... is why gradients survive: dc'/dc = diag(f), no weight matrix. The
forget-gate bias starts at `forget_bias` (1 by default; Jozefowicz et al. 2015), put on
b_ih with b_hh's forget part zeroed, so the sum is exactly that value. Leaves out:
peepholes and projections.
"""

import numpy as np

from seqlm.reference.cell import Cell, State
from seqlm.reference.primitives import dsigmoid, dtanh, sigmoid


class LSTMCell(Cell):
    name = "lstm"
    num_gates = 4
    num_states = 2

    def init_biases(self, forget_bias: float) -> None:
        H = self.hidden_size
        self.params["bias_ih"][H:2 * H] = forget_bias
        self.params["bias_hh"][H:2 * H] = 0.0

    def gates(self, ax: np.ndarray, ah: np.ndarray, state: State) -> tuple[State, tuple]:
        _, c_prev = state
        H = self.hidden_size
        a = ax + ah  # (B, 4H)
        i = sigmoid(a[:, :H])  # input gate
        f = sigmoid(a[:, H:2 * H])  # forget gate
        g = np.tanh(a[:, 2 * H:3 * H])  # candidate
        o = sigmoid(a[:, 3 * H:])  # output gate
        c = f * c_prev + i * g  # (B, H)
        tc = np.tanh(c)
        h = o * tc  # (B, H)
        return (h, c), (i, f, g, o, c_prev, tc)

    def gate_values(self, cache: tuple) -> dict[str, np.ndarray]:
        i, f, g, o, _, _ = cache[2]
        return {"i": i, "f": f, "g": g, "o": o}

    def gates_backward(self, dstate: State, cache: tuple) -> tuple[np.ndarray, np.ndarray, State]:
        i, f, g, o, c_prev, tc = cache
        dh, dc_next = dstate
        do = dh * tc  # backprop into o: h = o * tanh(c)
        dc = dc_next + dh * o * dtanh(tc)  # backprop into c: from the future, and via tanh(c)
        di = dc * g  # backprop into i: c = f c_prev + i g
        dg = dc * i  # backprop into g
        df = dc * c_prev  # backprop into f
        dc_prev = dc * f  # backprop into c_prev: the additive path, no matrix
        da = np.concatenate([
            di * dsigmoid(i),  # backprop into a_i through sigma
            df * dsigmoid(f),  # backprop into a_f through sigma
            dg * dtanh(g),  # backprop into a_g through tanh
            do * dsigmoid(o),  # backprop into a_o through sigma
        ], axis=1)  # (B, 4H)
        no_direct_h = np.zeros_like(dh)  # h_prev reaches the gates only through W_hh
        return da, da, (no_direct_h, dc_prev)

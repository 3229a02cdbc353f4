"""What every recurrent cell shares: torch's parameters and the two affine maps.

A cell with G gates and hidden size H holds exactly torch's parameters
(`torch.nn.RNNCell / LSTMCell / GRUCell`), so weights copy one to one both ways:

    weight_ih (G*H, E)   bias_ih (G*H,)     ax = x W_ih^T + b_ih      (B, G*H)
    weight_hh (G*H, H)   bias_hh (G*H,)     ah = h W_hh^T + b_hh      (B, G*H)

A subclass supplies only the nonlinear part, `gates(ax, ah, state) -> (state, cache)`, and
its hand-written inverse `gates_backward(dstate, cache) -> (dax, dah, dstate_direct)`, where
`dstate_direct` is the gradient reaching the previous state *without* passing through W_hh
(the LSTM's c path, the GRU's z h path). Keeping the two affine maps out of the gates lets
`recurrence.py` compute x W_ih^T for all T steps in one matrix product.

A state is a tuple: `(h,)` for RNN and GRU, `(h, c)` for LSTM; `state[0]` is always the
output h. Leaves out: projections (LSTMP), peepholes, layer norm.
"""

import math

import numpy as np

from seqlm.reference.primitives import uniform

State = tuple[np.ndarray, ...]


class Cell:
    """Base of RNNCell, LSTMCell, GRUCell: params in torch's names, step forward/backward."""

    name = "cell"
    num_gates = 1
    num_states = 1  # 1: (h,); 2: (h, c)

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator,
                 dtype: type = np.float64, forget_bias: float = 1.0):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.dtype = dtype
        k = 1.0 / math.sqrt(hidden_size)  # torch: every weight and bias U(-1/sqrt(H), 1/sqrt(H))
        gh = self.num_gates * hidden_size
        self.params: dict[str, np.ndarray] = {
            "weight_ih": uniform(rng, k, (gh, input_size), dtype),
            "weight_hh": uniform(rng, k, (gh, hidden_size), dtype),
            "bias_ih": uniform(rng, k, (gh,), dtype),
            "bias_hh": uniform(rng, k, (gh,), dtype),
        }
        self.init_biases(forget_bias)

    def init_biases(self, forget_bias: float) -> None:
        """Hook for cell-specific bias initialisation (the LSTM's forget gate)."""

    def zero_state(self, batch_size: int) -> State:
        return tuple(np.zeros((batch_size, self.hidden_size), self.dtype)
                     for _ in range(self.num_states))

    def gates(self, ax: np.ndarray, ah: np.ndarray, state: State) -> tuple[State, tuple]:
        raise NotImplementedError

    def gates_backward(self, dstate: State, cache: tuple) -> tuple[np.ndarray, np.ndarray, State]:
        raise NotImplementedError

    def gate_values(self, cache: tuple) -> dict[str, np.ndarray]:
        """The gate activations held in a `forward` cache, by name (for showing them)."""
        return {}

    def forward(self, x: np.ndarray, state: State) -> tuple[State, tuple]:
        """One step: x (B, E), state of (B, H) arrays -> new state, cache for `backward`."""
        p = self.params
        ax = x @ p["weight_ih"].T + p["bias_ih"]  # (B, G*H)
        ah = state[0] @ p["weight_hh"].T + p["bias_hh"]  # (B, G*H)
        new_state, gate_cache = self.gates(ax, ah, state)
        return new_state, (x, state[0], gate_cache)

    def backward(self, dstate: State, cache: tuple) -> tuple[np.ndarray, State, dict]:
        """Gradient of the new state -> (dx (B, E), dstate_prev, grads of the four params)."""
        x, h_prev, gate_cache = cache
        p = self.params
        dax, dah, ddirect = self.gates_backward(dstate, gate_cache)
        grads = {
            "weight_ih": dax.T @ x,  # backprop into W_ih: ax = x W_ih^T, summed over the batch
            "weight_hh": dah.T @ h_prev,  # backprop into W_hh: ah = h_prev W_hh^T
            "bias_ih": dax.sum(axis=0),  # backprop into b_ih: added to every row
            "bias_hh": dah.sum(axis=0),  # backprop into b_hh: added to every row
        }
        dx = dax @ p["weight_ih"]  # backprop into the input x through W_ih
        dh_prev = ddirect[0] + dah @ p["weight_hh"]  # backprop into h_prev: direct + via W_hh
        return dx, (dh_prev, *ddirect[1:]), grads

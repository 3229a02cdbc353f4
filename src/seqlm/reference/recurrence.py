"""One recurrent layer over a window of T steps, forward and backpropagation through time.

What makes the NumPy reference fast enough to train on Tiny Shakespeare: only the part of
the computation that truly depends on the previous step stays in the Python loop.

    forward:   AX = X W_ih^T + b_ih             one (B*T, E) x (E, G*H) product, all steps
               for t = 0..T-1:  ah = h W_hh^T + b_hh;  h, c = gates(AX[t], ah, state)
    backward:  for t = T-1..0:  dax_t, dah_t = gates_backward(...);  dh_{t-1} += dah_t W_hh
               dW_ih = dAX^T X,  dW_hh = dAH^T H_prev,  dX = dAX W_ih   one product each

Arrays are time-major (T, B, ...) inside so each step reads a contiguous slice; the API is
batch-first (B, T, ...). `backward` also returns dH_total (B, T, H), the full gradient of the
loss with respect to each h_t (from the output at t and from the future): the quantity
`seqlm vanishing` plots. Leaves out: bidirectional layers, dropout.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.reference.cell import Cell, State


@dataclass
class LayerCache:
    X: np.ndarray  # (T, B, E) inputs
    H_prev: np.ndarray  # (T, B, H) the h each step started from
    gate_caches: list[tuple]


def layer_forward(cell: Cell, X: np.ndarray, state: State) -> tuple[np.ndarray, State, LayerCache]:
    """X (B, T, E), state of (B, H) -> outputs (B, T, H), final state, cache."""
    p = cell.params
    Xt = np.ascontiguousarray(X.transpose(1, 0, 2))  # (T, B, E)
    T, B, _ = Xt.shape
    AX = Xt @ p["weight_ih"].T + p["bias_ih"]  # (T, B, G*H): every input projection at once
    W_hh_T, b_hh = np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"]  # row-major: faster
    Hs = np.empty((T, B, cell.hidden_size), dtype=AX.dtype)
    H_prev = np.empty_like(Hs)
    caches = []
    for t in range(T):  # the serial part: step t needs step t-1
        H_prev[t] = state[0]
        ah = state[0] @ W_hh_T + b_hh  # (B, G*H)
        state, gate_cache = cell.gates(AX[t], ah, state)
        Hs[t] = state[0]
        caches.append(gate_cache)
    return Hs.transpose(1, 0, 2), state, LayerCache(Xt, H_prev, caches)


def layer_backward(cell: Cell, dHs: np.ndarray, dstate: State,
                   cache: LayerCache) -> tuple[np.ndarray, State, dict, np.ndarray]:
    """dHs (B, T, H) from above, dstate from after the window -> dX (B, T, E), dstate at the
    window's start, grads of the cell's params, dH_total (B, T, H)."""
    p = cell.params
    dHt = dHs.transpose(1, 0, 2)  # (T, B, H)
    T, B, H = dHt.shape
    gh = cell.num_gates * H
    dAX = np.empty((T, B, gh), dtype=dHt.dtype)
    dAH = np.empty_like(dAX)
    dH_total = np.empty_like(dHt)
    W_hh = p["weight_hh"]
    for t in reversed(range(T)):
        dh = dstate[0] + dHt[t]  # backprop into h_t: from the future and from the output at t
        dH_total[t] = dh
        dax, dah, ddirect = cell.gates_backward((dh, *dstate[1:]), cache.gate_caches[t])
        dAX[t], dAH[t] = dax, dah
        dstate = (ddirect[0] + dah @ W_hh, *ddirect[1:])  # backprop into h_{t-1}, c_{t-1}
    flat_ax, flat_ah = dAX.reshape(T * B, gh), dAH.reshape(T * B, gh)
    grads = {
        "weight_ih": flat_ax.T @ cache.X.reshape(T * B, -1),  # backprop into W_ih, all steps
        "weight_hh": flat_ah.T @ cache.H_prev.reshape(T * B, H),  # backprop into W_hh
        "bias_ih": flat_ax.sum(axis=0),  # backprop into b_ih
        "bias_hh": flat_ah.sum(axis=0),  # backprop into b_hh
    }
    dX = dAX @ p["weight_ih"]  # backprop into the inputs, (T, B, E)
    return dX.transpose(1, 0, 2), dstate, grads, dH_total.transpose(1, 0, 2)

"""minGRU in NumPy: one layer over a window, forward and hand-written backward through time.

Feng et al. (2024), "Were RNNs All We Needed?", in the log-space variant's form (the same
parameters and function as `seqlm.nn.min_rnn.MinGRU`, one layer):

    [k_z k_h] = x W_ih^T + b_ih      z = sigma(k_z)     h~ = g(k_h)   (g: v + 1/2 | sigma(v))
    h_t = (1 - z_t) h_{t-1} + z_t h~_t = a_t h_{t-1} + b_t,   a = 1 - z,  b = z h~

Nothing in the time loop depends on the weights: a_t, b_t come from x_t alone. Backward, with
g_t = dL/dh_t (the gradient reaching h_t from its output and from all later steps):

    g_t = dL/dh_t(direct) + a_{t+1} g_{t+1}          g_{T-1} = dL/dh_{T-1}(direct) + dL/dh_T
    dL/da_t = g_t h_{t-1}     dL/db_t = g_t          dL/dh_0 = a_0 g_0

The first line is the forward recurrence itself, run backwards in time with the coefficients
shifted one step: the backward of a gated linear recurrence is a reverse linear recurrence, so
it scans in parallel exactly like the forward (what `seqlm.nn.scan` relies on), and nothing
multiplies the gradient by a weight matrix on its way back: it fades by prod a_s alone, never
explodes (a < 1). Everything else (gates, weights, inputs) is one vectorised product after the
loop. Arrays are time-major (T, B, .) inside, batch-first outside, as in `recurrence.py`.
Leaves out: minLSTM, stacking, the parallel scans (torch's job), parameters of torch.nn.GRU.
"""

import math
from dataclasses import dataclass

import numpy as np

from seqlm.reference.primitives import dsigmoid, sigmoid, uniform


def g(v: np.ndarray) -> np.ndarray:
    """The paper's positive activation: v + 1/2 for v >= 0, sigma(v) below."""
    return np.where(v >= 0, np.maximum(v, 0) + 0.5, sigmoid(np.minimum(v, 0)))


def dg(v: np.ndarray) -> np.ndarray:
    """g'(v): 1 for v >= 0, sigma'(v) below (g has a kink at 0: 1 against 1/4)."""
    return np.where(v >= 0, 1.0, dsigmoid(sigmoid(np.minimum(v, 0))))


@dataclass
class MinGRUCache:
    X: np.ndarray  # (T, B, E)
    h0: np.ndarray  # (B, H)
    z: np.ndarray  # (T, B, H) update gates
    k_h: np.ndarray  # (T, B, H) candidate pre-activations
    cand: np.ndarray  # (T, B, H) g(k_h)
    Hs: np.ndarray  # (T, B, H) states h_0 .. h_{T-1} of the window (outputs)


class MinGRULayer:
    """`params`: weight_ih (2H, E), bias_ih (2H,), rows [z; h] as in `nn.min_rnn.MinGRU`'s
    `weight_ih_l0`, `bias_ih_l0`; initialised U(-1/sqrt(H), 1/sqrt(H)) like torch."""

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator,
                 dtype: type = np.float64):
        k = 1.0 / math.sqrt(hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.params = {"weight_ih": uniform(rng, k, (2 * hidden_size, input_size), dtype),
                       "bias_ih": uniform(rng, k, (2 * hidden_size,), dtype)}

    def forward(self, X: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, MinGRUCache]:
        """X (B, T, E), h0 (B, H) -> states (B, T, H) (the last is h_T), cache."""
        p, H = self.params, self.hidden_size
        Xt = np.ascontiguousarray(X.transpose(1, 0, 2))  # (T, B, E)
        P = Xt @ p["weight_ih"].T + p["bias_ih"]  # (T, B, 2H): every gate of every step
        z, k_h = sigmoid(P[..., :H]), P[..., H:]
        cand = g(k_h)
        a, b = 1.0 - z, z * cand  # (T, B, H) each
        Hs = np.empty_like(b)
        h = h0
        for t in range(len(Hs)):  # the serial part, elementwise only
            h = a[t] * h + b[t]
            Hs[t] = h
        return Hs.transpose(1, 0, 2), MinGRUCache(Xt, h0, z, k_h, cand, Hs)

    def backward(self, dHs: np.ndarray, dh_last: np.ndarray, cache: MinGRUCache
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """dHs (B, T, H) on the outputs, dh_last (B, H) on h_T from after the window ->
        (dX (B, T, E), dh0 (B, H), grads of the params)."""
        p, c = self.params, cache
        a = 1.0 - c.z
        G = np.ascontiguousarray(dHs.transpose(1, 0, 2))  # (T, B, H): becomes g_t
        G[-1] += dh_last  # backprop into h_T from the next window
        for t in range(len(G) - 2, -1, -1):  # the reverse linear recurrence
            G[t] += a[t + 1] * G[t + 1]  # backprop into h_t through h_{t+1} = a h_t + b
        H_prev = np.concatenate([c.h0[None], c.Hs[:-1]])  # (T, B, H): h_{t-1}
        da = G * H_prev  # backprop into a_t: it multiplies h_{t-1}
        db = G  # backprop into b_t: added as is
        dh0 = a[0] * G[0]  # backprop into h_0
        dz = db * c.cand - da  # backprop into z: b = z h~, a = 1 - z
        dcand = db * c.z  # backprop into h~ = g(k_h)
        dP = np.concatenate([dz * dsigmoid(c.z),  # backprop into k_z through sigma
                             dcand * dg(c.k_h)], axis=-1)  # into k_h through g; (T, B, 2H)
        flat = dP.reshape(-1, dP.shape[-1])  # (T*B, 2H)
        grads = {"weight_ih": flat.T @ c.X.reshape(len(flat), -1),  # backprop into W_ih
                 "bias_ih": flat.sum(axis=0)}  # backprop into b_ih: added to every row
        dX = dP @ p["weight_ih"]  # backprop into the inputs: (T, B, E)
        return dX.transpose(1, 0, 2), dh0, grads

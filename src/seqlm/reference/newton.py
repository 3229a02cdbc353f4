"""One Newton step over the sequence for a tiny GRU, in NumPy, written out by hand (DEER: Lim
et al., ICLR 2024; the torch version, with the LSTM and the solvers: `seqlm.nn.newton`).

The trajectory h_0 .. h_{T-1} of a window is the unknown of h_t = f(h_{t-1}, x_t). Around a
guess H (T rows per batch row), every step is linearised,

    h_t^new = f(g_{t-1}) + J_t (h_{t-1}^new - g_{t-1}),     g_{t-1} the guess before step t

(g_{-1} = h0, the given state, so step 0 is exact), with J_t = df/dh at g_{t-1} formed densely
(H, H) from the GRU's equations (torch's layout: gates r, z, n; `seqlm.reference.gru`):

    r = sigma(x_r + W_r h + b_r)   z = sigma(x_z + W_z h + b_z)   a = W_n h + b_n
    n = tanh(x_n + r a)            f = (1 - z) n + z h
    df/dh = diag(z) + diag((1 - z)(1 - n^2) r) W_n + diag((1 - z)(1 - n^2) a r (1 - r)) W_r
            + diag((h - n) z (1 - z)) W_z

and the linear recurrence is then solved one step after another. Leaves out: iterating to
convergence, the diagonal (quasi-Newton) Jacobian, the LSTM and the parallel scan (the torch
version has them, and tests/reference/test_newton.py checks this step against it).
"""

import numpy as np

from seqlm.reference.primitives import sigmoid


def gru_step_and_jacobian(gx: np.ndarray, h: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """f(h) (B, H) and df/dh (B, H, H) at h (B, H); gx = x W_ih^T + b_ih (B, 3H)."""
    hidden = h.shape[1]
    ah = h @ w_hh.T + b_hh  # (B, 3H)
    r = sigmoid(gx[:, :hidden] + ah[:, :hidden])
    z = sigmoid(gx[:, hidden:2 * hidden] + ah[:, hidden:2 * hidden])
    a = ah[:, 2 * hidden:]
    n = np.tanh(gx[:, 2 * hidden:] + r * a)
    w_r, w_z, w_n = w_hh[:hidden], w_hh[hidden:2 * hidden], w_hh[2 * hidden:]
    dn = (1 - z) * (1 - n * n)  # df / d(n's pre-activation)
    jac = (np.einsum("bi,ij->bij", dn * r, w_n)  # through n's W_n h
           + np.einsum("bi,ij->bij", dn * a * r * (1 - r), w_r)  # through r
           + np.einsum("bi,ij->bij", (h - n) * z * (1 - z), w_z))  # through z
    jac += z[:, :, None] * np.eye(hidden)  # the additive path z h
    return (1 - z) * n + z * h, jac


def gru_newton_step(gx: np.ndarray, guess: np.ndarray, h0: np.ndarray, w_hh: np.ndarray,
                    b_hh: np.ndarray) -> np.ndarray:
    """The next trajectory (B, T, H) from `guess` (B, T, H); gx (B, T, 3H), h0 (B, H)."""
    prev = np.concatenate([h0[:, None], guess[:, :-1]], axis=1)  # the state before each step
    new = np.empty_like(guess)
    h = h0
    for t in range(guess.shape[1]):
        value, jac = gru_step_and_jacobian(gx[:, t], prev[:, t], w_hh, b_hh)
        h = value + np.einsum("bij,bj->bi", jac, h - prev[:, t])  # linearised around prev_t
        new[:, t] = h
    return new


def gru_sequential(gx: np.ndarray, h0: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray
                   ) -> np.ndarray:
    """The trajectory by the ordinary loop, the fixed point of `gru_newton_step`."""
    out, h = np.empty(gx.shape[:2] + h0.shape[1:]), h0
    for t in range(gx.shape[1]):
        h, _ = gru_step_and_jacobian(gx[:, t], h, w_hh, b_hh)
        out[:, t] = h
    return out

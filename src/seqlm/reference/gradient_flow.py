"""How a gradient travels back through time: Jacobian products and measured norms.

For the tanh RNN h_t = tanh(W h_{t-1} + x_t), the gradient of a loss at step T with respect
to an earlier state is a product of k = T - t Jacobians (Bengio et al. 1994; Pascanu et al.
2013):

    dL/dh_{T-k} = J_{T-k+1}^T ... J_T^T dL/dh_T,     J_t^T = W^T diag(tanh'_t)

with tanh' = 1 - h_t^2 <= 1. If W's spectral radius rho is below 1 the product shrinks
about like rho^k (vanishing); above 1 it can grow like rho^k (exploding) while the tanh
stays unsaturated. `jacobian_product_norms` computes ||J_T ... J_{T-k+1}||_2 for k = 1..K
for a given sequence of tanh' values (all ones: the linear regime at the fixed point h = 0;
or those of a trajectory driven by noise). `gradient_norms` measures ||dL_T/dh_k|| in a
trained or untrained LM by backpropagating the loss at one position only. Leaves out:
Lyapunov exponents and the orthogonal-initialisation remedies.
"""

import numpy as np

from seqlm.reference.lm import ReferenceLM


def scaled_recurrent_matrix(hidden_size: int, radius: float, seed: int = 0) -> np.ndarray:
    """A Gaussian (H, H) matrix rescaled so its spectral radius (largest |eigenvalue|) is
    exactly `radius`."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((hidden_size, hidden_size)) / np.sqrt(hidden_size)
    return W * (radius / np.abs(np.linalg.eigvals(W)).max())


def driven_tanh_primes(W: np.ndarray, steps: int, drive_std: float, seed: int = 0) -> np.ndarray:
    """tanh'_t = 1 - h_t^2 along h_t = tanh(W h_{t-1} + x_t), x_t ~ N(0, drive_std^2), h_0 = 0:
    (steps, H)."""
    rng = np.random.default_rng(seed)
    h = np.zeros(W.shape[0])
    out = np.empty((steps, W.shape[0]))
    for t in range(steps):
        h = np.tanh(W @ h + drive_std * rng.standard_normal(W.shape[0]))
        out[t] = 1.0 - h * h
    return out


def jacobian_product_norms(W: np.ndarray, tanh_primes: np.ndarray) -> np.ndarray:
    """||J_T J_{T-1} ... J_{T-k+1}||_2 for k = 1..K, with J_t = diag(tanh'_t) W and the K rows
    of `tanh_primes` in time order (the last row is step T): (K,)."""
    K, H = tanh_primes.shape
    product = np.eye(H)
    norms = np.empty(K)
    for k in range(K):
        jac = tanh_primes[K - 1 - k][:, None] * W  # J_{T-k} = diag(tanh') W, (H, H)
        product = product @ jac  # extend the chain one step further back
        norms[k] = np.linalg.norm(product, 2)  # largest singular value
    return norms


def gradient_norms(model: ReferenceLM, ids: np.ndarray, position: int,
                   layer: int = 0) -> np.ndarray:
    """||dL/dh_k|| at `layer` for k = position, position-1, ..., 0, where L is the loss of
    predicting ids[position + 1] from the prefix ids[:position + 1] (one sequence, batch 1).
    Entry j of the result is the norm at distance T - k = j."""
    idx = np.asarray(ids[: position + 1])[None, :]  # (1, T+1)
    targets = np.asarray(ids[1: position + 2])[None, :]
    weights = np.zeros(idx.shape)
    weights[0, position] = 1.0  # only the loss at step T
    _, _, _, cache = model.forward_cached(idx, targets, weights=weights)
    _, _, dH = model.backward(cache)
    norms = np.linalg.norm(dH[layer][0], axis=-1)  # (T+1,) in time order
    return norms[::-1].copy()


def fit_decay_rate(norms: np.ndarray, start: int = 1) -> float:
    """Per-step factor r of a least-squares fit norms[j] ~ a r^j over j >= start (on the log
    scale, skipping zeros). r < 1 decays, r > 1 grows."""
    j = np.arange(len(norms))
    keep = (j >= start) & (norms > 0) & np.isfinite(norms)
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(j[keep], np.log(norms[keep]), 1)[0]
    return float(np.exp(slope))

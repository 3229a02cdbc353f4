"""Elementwise nonlinearities, softmax cross-entropy and initialisation, each with the
derivative that the hand-written backward passes use.

The derivatives are written in terms of the *outputs* (sigma' = s (1 - s), tanh' = 1 - t^2),
the form min-char-rnn and every cell here use, so a cache keeps outputs only. The loss is the
mean negative log-likelihood in nats over the weighted positions. Leaves out: label smoothing,
sampled softmax.
"""

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(name: str) -> type:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}: choose one of {', '.join(DTYPES)}") from None


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), written as 0.5 (1 + tanh(a / 2)) so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def dsigmoid(s: np.ndarray) -> np.ndarray:
    """sigma'(a) from s = sigma(a)."""
    return s * (1.0 - s)


def dtanh(t: np.ndarray) -> np.ndarray:
    """tanh'(a) from t = tanh(a)."""
    return 1.0 - t * t


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, shifted by the max for stability."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def cross_entropy(logits: np.ndarray, targets: np.ndarray,
                  weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Weighted mean NLL in nats of `targets` (N,) under `logits` (N, V), and dloss/dlogits.

    The gradient of -log softmax(a)[y] is softmax(a) - onehot(y); the mean divides it by the
    total weight.
    """
    n = logits.shape[0]
    weights = np.ones(n, dtype=logits.dtype) if weights is None else weights.astype(logits.dtype)
    total = weights.sum()
    if total <= 0:
        raise ValueError("cross entropy needs at least one position with positive weight")
    logp = log_softmax(logits)  # (N, V)
    nll = -logp[np.arange(n), targets]  # (N,)
    loss = float((weights * nll).sum() / total)
    dlogits = np.exp(logp)  # backprop into the logits: softmax ...
    dlogits[np.arange(n), targets] -= 1.0  # ... minus the one-hot target
    dlogits *= (weights / total)[:, None]  # ... scaled by each position's share of the mean
    return loss, dlogits


def uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...],
            dtype: type = np.float64) -> np.ndarray:
    """U(-bound, bound): torch's default for recurrent and linear weights, bound 1/sqrt(H)."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)

"""Gradient clipping: by global norm (Pascanu et al. 2013) and by value (min-char-rnn).

Global-norm clipping rescales all gradients together when their joint L2 norm exceeds the
threshold, so the update keeps its direction and only its length is capped: it tames an
exploding gradient and does nothing for a vanishing one. Value clipping cuts each entry to
[-v, v] and so can change the direction. Both work in place. Leaves out: adaptive clipping.
"""

import math

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt of the sum of squares over every gradient array."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale every gradient by max_norm / norm if norm > max_norm; return the norm before."""
    norm = global_norm(grads)
    if norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


def clip_value(grads: dict[str, np.ndarray], max_value: float) -> None:
    """Cut every entry to [-max_value, max_value]."""
    for g in grads.values():
        np.clip(g, -max_value, max_value, out=g)

"""Optimisers that update NumPy parameters in place: SGD, Adagrad and Adam.

    SGD      w -= lr g
    Adagrad  m += g^2;  w -= lr g / sqrt(m + 1e-8)        (Duchi et al. 2011; min-char-rnn)
    Adam     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
             w -= lr m_hat / (sqrt(v_hat) + 1e-8), with bias-corrected m_hat, v_hat
             (Kingma & Ba 2015; torch.optim.Adam's defaults b1 = 0.9, b2 = 0.999)

Each optimiser keeps its per-parameter memory keyed by parameter name. Leaves out: momentum
SGD, weight decay, learning-rate schedules.
"""

import numpy as np

from seqlm.errors import SeqlmError


class SGD:
    def __init__(self, lr: float):
        self.lr = lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, p in params.items():
            p -= self.lr * grads[name]


class Adagrad:
    def __init__(self, lr: float, eps: float = 1e-8):
        self.lr, self.eps = lr, eps
        self.memory: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, p in params.items():
            g = grads[name]
            m = self.memory.setdefault(name, np.zeros_like(p))
            m += g * g  # the sum of squared gradients so far
            p -= self.lr * g / np.sqrt(m + self.eps)


class Adam:
    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        correct1 = 1.0 - self.beta1 ** self.t  # bias correction: m and v start at zero
        correct2 = 1.0 - self.beta2 ** self.t
        for name, p in params.items():
            g = grads[name]
            m = self.m.setdefault(name, np.zeros_like(p))
            v = self.v.setdefault(name, np.zeros_like(p))
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            p -= self.lr * (m / correct1) / (np.sqrt(v / correct2) + self.eps)


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adam": Adam}


def make_optimizer(name: str, lr: float):
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise SeqlmError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")\
            from None
    if lr <= 0:
        raise SeqlmError(f"learning rate must be positive, got {lr}")
    return cls(lr)

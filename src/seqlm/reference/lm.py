"""A recurrent language model in NumPy with hand-written backpropagation through time.

    idx (B, T) -> embedding (B, T, E) -> L recurrent layers (B, T, H) -> head (B, T, V)
    loss = weighted mean over positions of -log softmax(logits)[target]     (nats)

Parameters carry torch-style names (`embedding.weight`, `layers.0.weight_ih`, `head.weight`,
`head.bias`) and torch's default initialisation, so a `torch.nn` model with the same names
can receive them. `forward(idx, targets=None, state=None) -> (logits, loss, state)` is the
house interface; `forward_cached` + `backward` are the training pair, and `backward` also
returns the gradient with respect to the initial state, which is what a gradient check (and
`seqlm vanishing`) needs. Truncated BPTT is the caller's part: pass the returned state into
the next window and it is used as a constant there (no graph is kept between calls).
Leaves out: dropout, weight tying, one-hot inputs (an embedding is the same thing with E=V).
"""

import math
from dataclasses import dataclass

import numpy as np

from seqlm.config import ReferenceModelConfig
from seqlm.errors import SeqlmError
from seqlm.reference.cell import State
from seqlm.reference.cells import make_cell
from seqlm.reference.primitives import cross_entropy, resolve_dtype, uniform
from seqlm.reference.recurrence import LayerCache, layer_backward, layer_forward


@dataclass
class LMCache:
    idx: np.ndarray  # (B, T)
    top: np.ndarray  # (B, T, H) output of the last layer
    layers: list[LayerCache]
    dlogits: np.ndarray | None  # (B*T, V) dloss/dlogits, None without targets


class ReferenceLM:
    """Embedding, a stack of `num_layers` cells, and a linear softmax head."""

    def __init__(self, config: ReferenceModelConfig):
        check_config(config)
        self.config = config
        dtype = resolve_dtype(config.dtype)
        rng = np.random.default_rng(config.seed)
        V, E, H = config.vocab_size, config.embedding_dim, config.hidden_size
        self.embedding = rng.standard_normal((V, E)).astype(dtype)  # torch: N(0, 1)
        self.cells = [make_cell(config.cell, E if layer == 0 else H, H, rng, dtype,
                                config.forget_bias) for layer in range(config.num_layers)]
        k = 1.0 / math.sqrt(H)  # torch nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        self.head_weight = uniform(rng, k, (V, H), dtype)
        self.head_bias = uniform(rng, k, (V,), dtype)

    def params(self) -> dict[str, np.ndarray]:
        """Every parameter by name; the arrays are the model's own, so updates are in place."""
        out = {"embedding.weight": self.embedding}
        for layer, cell in enumerate(self.cells):
            out.update({f"layers.{layer}.{k}": v for k, v in cell.params.items()})
        out["head.weight"], out["head.bias"] = self.head_weight, self.head_bias
        return out

    def num_params(self) -> int:
        return sum(p.size for p in self.params().values())

    def zero_state(self, batch_size: int) -> list[State]:
        return [cell.zero_state(batch_size) for cell in self.cells]

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None,
                state: list[State] | None = None,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, float | None, list[State]]:
        """idx (B, T) -> logits (B, T, V), mean NLL in nats (None without targets), state."""
        logits, loss, state, _ = self.forward_cached(idx, targets, state, weights)
        return logits, loss, state

    def forward_cached(self, idx: np.ndarray, targets: np.ndarray | None = None,
                       state: list[State] | None = None, weights: np.ndarray | None = None
                       ) -> tuple[np.ndarray, float | None, list[State], LMCache]:
        """`forward` that also returns the cache `backward` needs."""
        idx = np.asarray(idx)
        B, T = idx.shape
        state = self.zero_state(B) if state is None else state
        x = self.embedding[idx]  # (B, T, E)
        caches, new_state = [], []
        for cell, s in zip(self.cells, state, strict=True):
            x, s, cache = layer_forward(cell, x, s)  # (B, T, H)
            caches.append(cache)
            new_state.append(s)
        logits = x @ self.head_weight.T + self.head_bias  # (B, T, V)
        loss, dlogits = None, None
        if targets is not None:
            w = None if weights is None else np.asarray(weights).reshape(B * T)
            loss, dlogits = cross_entropy(logits.reshape(B * T, -1),
                                          np.asarray(targets).reshape(B * T), w)
        return logits, loss, new_state, LMCache(idx, x, caches, dlogits)

    def backward(self, cache: LMCache,
                 dstate: list[State] | None = None) -> tuple[dict, list[State], list[np.ndarray]]:
        """Gradients of the loss: (grads by param name, dloss/dstate at the window's start per
        layer, dloss/dh_t (B, T, H) per layer). `dstate` adds a gradient arriving at the final
        state (zero in truncated BPTT: the next window does not backpropagate into this one)."""
        if cache.dlogits is None:
            raise ValueError("backward needs a forward pass with targets")
        B, T, H = cache.top.shape
        top = cache.top.reshape(B * T, H)
        grads = {
            "head.weight": cache.dlogits.T @ top,  # backprop into the head weight
            "head.bias": cache.dlogits.sum(axis=0),  # backprop into the head bias
        }
        dx = (cache.dlogits @ self.head_weight).reshape(B, T, H)  # backprop into top layer's h
        dstate = [cell.zero_state(B) for cell in self.cells] if dstate is None else dstate
        dstate0, dH = [None] * len(self.cells), [None] * len(self.cells)
        for layer in reversed(range(len(self.cells))):
            dx, dstate0[layer], layer_grads, dH[layer] = layer_backward(
                self.cells[layer], dx, dstate[layer], cache.layers[layer])  # into layer below
            grads.update({f"layers.{layer}.{k}": v for k, v in layer_grads.items()})
        demb = np.zeros_like(self.embedding)
        np.add.at(demb, cache.idx, dx)  # backprop into the embedding rows that were looked up
        grads["embedding.weight"] = demb
        return grads, dstate0, dH

    def loss_and_grads(self, idx: np.ndarray, targets: np.ndarray,
                       state: list[State] | None = None, weights: np.ndarray | None = None
                       ) -> tuple[float, dict, list[State]]:
        """One window of truncated BPTT: (loss, grads, final state to carry to the next)."""
        _, loss, state, cache = self.forward_cached(idx, targets, state, weights)
        grads, _, _ = self.backward(cache)
        return loss, grads, state

    def step(self, token: np.ndarray, state: list[State]) -> tuple[np.ndarray, list[State], list]:
        """One token per stream: token (B,) -> logits (B, V), state, each layer's cell cache
        (for inspecting gates, `seqlm by-hand`)."""
        x = self.embedding[np.asarray(token)]  # (B, E)
        new_state, caches = [], []
        for cell, s in zip(self.cells, state, strict=True):
            s, cache = cell.forward(x, s)
            new_state.append(s)
            caches.append(cache)
            x = s[0]
        return x @ self.head_weight.T + self.head_bias, new_state, caches


def check_config(config: ReferenceModelConfig) -> None:
    sizes = {"vocab_size": config.vocab_size, "embedding_dim": config.embedding_dim,
             "hidden_size": config.hidden_size, "num_layers": config.num_layers}
    bad = [f"{k}={v}" for k, v in sizes.items() if v < 1]
    if bad:
        raise SeqlmError(f"model sizes must be at least 1, got {', '.join(bad)}: "
                         "set them in the model config")

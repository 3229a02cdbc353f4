"""Every language model of seqlm, read one token at a time behind one interface.

    stepping.start(prime_ids) -> (logits (V,), state)    after reading the whole prime
    stepping.step(token, state) -> (logits (V,), state)  after one more token

Logits are NumPy float arrays; the state is the model's own and opaque here. The adapters:

    RecurrentLM   the prime through the sequence path in one call, then the model's fast
                  stepper (`RecurrentLM.stepper()`) under torch.inference_mode
    NgramModel    the state is the history; logits are its log-distribution over the next
                  token given the last N-1 tokens
    ReferenceLM   the NumPy LM's own step, one token at a time

`stepping_of` picks the adapter once, by the model's class, from a registry of import paths,
so sampling an n-gram model never imports torch. Leaves out: batched stepping (beam search
steps several hypotheses at once through `seqlm.decoding.beam`).
"""

import importlib
from typing import Any

import numpy as np

ADAPTERS = {  # the model's class name -> "module:adapter"
    "RecurrentLM": "seqlm.decoding.steppings_torch:RecurrentStepping",
    "NgramModel": "seqlm.decoding.steppings:NgramStepping",
    "ReferenceLM": "seqlm.decoding.steppings:ReferenceStepping",
}


def stepping_of(lm: Any):
    """`lm` itself if it already steps, else its adapter."""
    if hasattr(lm, "start") and hasattr(lm, "step") and not hasattr(lm, "forward"):
        return lm
    for cls in type(lm).__mro__:
        if cls.__name__ in ADAPTERS:
            module, name = ADAPTERS[cls.__name__].split(":")
            return getattr(importlib.import_module(module), name)(lm)
    raise TypeError(f"no stepping for a {type(lm).__name__}: seqlm samples "
                    f"{', '.join(ADAPTERS)}")


class NgramStepping:
    """An n-gram model's next-token distribution given the last N-1 tokens (ids of its own
    vocabulary; the history starts with <s>)."""

    def __init__(self, model):
        self.model = model

    def logits(self, history: list[int]) -> np.ndarray:
        keep = self.model.order - 1
        context = [self.model.vocab.token(i) for i in history[len(history) - keep:]] \
            if keep > 0 else []
        return np.asarray(self.model.log_distribution(context), dtype=np.float64)

    def start(self, prime_ids: list[int]) -> tuple[np.ndarray, list[int]]:
        history = list(prime_ids)
        return self.logits(history), history

    def step(self, token: int, history: list[int]) -> tuple[np.ndarray, list[int]]:
        history = [*history, token]
        return self.logits(history), history


class ReferenceStepping:
    """The NumPy reference LM at batch 1."""

    def __init__(self, model):
        self.model = model

    def step(self, token: int, state) -> tuple[np.ndarray, Any]:
        logits, state, _ = self.model.step(np.array([token]), state)
        return logits[0].astype(np.float64), state

    def start(self, prime_ids: list[int]) -> tuple[np.ndarray, Any]:
        state = self.model.zero_state(1)
        for token in prime_ids:
            logits, state = self.step(token, state)
        return logits, state

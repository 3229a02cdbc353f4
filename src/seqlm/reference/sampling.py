"""Sampling from the NumPy reference LM: feed a prompt, then draw one token at a time.

    p = softmax(logits / temperature)

Temperature below 1 sharpens the distribution towards the most likely token, above 1
flattens it; the RNG is a `numpy.random.Generator` built from an explicit seed. Leaves out:
top-k / top-p and beam search (they live in `seqlm.decoding` for the torch models).
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.primitives import softmax


def sample(model: ReferenceLM, prompt: list[int], length: int, temperature: float = 1.0,
           seed: int = 0) -> list[int]:
    """`length` token ids drawn after reading `prompt` (a non-empty list of ids)."""
    if not prompt:
        raise SeqlmError("sampling needs a prompt of at least one token")
    check_temperature(temperature)
    rng = np.random.default_rng(seed)
    state = model.zero_state(1)
    for token in prompt:
        logits, state, _ = model.step(np.array([token]), state)
    out = []
    for _ in range(length):
        probs = softmax(logits[0].astype(np.float64) / temperature)  # (V,)
        token = int(rng.choice(len(probs), p=probs))
        out.append(token)
        logits, state, _ = model.step(np.array([token]), state)
    return out


def check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise SeqlmError(f"temperature must be positive, got {temperature}: use e.g. 0.7 "
                         "(sharper) or 1.0 (the model's own distribution)")

"""Sampling from any language model in seqlm, one token at a time, with one rule.

Each step turns the next-token logits (V,) (natural log-probabilities up to a constant) into
a choice, in this order:

    banned               <pad>, <unk>, <s> (and </s> where it is not a token) never come out
    repetition penalty   logits of tokens already in the text: l / r if l > 0 else l * r
                         (Keskar et al. 2019, CTRL)
    temperature          l / tau; tau = 0 means greedy (argmax), the limit tau -> 0
    top-k                keep the k largest logits (Fan et al. 2018)
    top-p (nucleus)      keep the smallest set of most probable tokens whose probability
                         reaches p (Holtzman et al. 2020)
    draw                 by inverse CDF from a `numpy.random.Generator` built from the seed

The rule is NumPy, so every model samples through the same `generate`: a model is reached
through a `Stepping` (start on a prime, then one token at a time), which
`seqlm.decoding.steppings` builds for the torch LMs, the n-gram models and the NumPy
reference; torch is imported only for a torch model. A stepping whose `samples_in_graph` is
true (the ONNX runtime's, `seqlm.export.onnx_loop`) runs this rule inside its own graph:
`generate` hands it the whole call, `sample(prime_ids, length, rule, rng)`, and it draws
the same uniforms from the same generator in the same order. Leaves out: typical and min-p
sampling, contrastive search.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

import numpy as np

from seqlm.data.vocab import BOS_ID, PAD_ID, UNK_ID
from seqlm.errors import SeqlmError

NEVER = (PAD_ID, UNK_ID, BOS_ID)


@dataclass(frozen=True)
class SamplingRule:
    temperature: float = 1.0  # 0 = greedy
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    banned: tuple[int, ...] = NEVER  # ids never generated

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise SeqlmError(f"temperature must be 0 or more, got {self.temperature}: 0 is "
                             "greedy, 1 samples the model as it is, below 1 sharpens")


class Stepping(Protocol):
    """A language model read one token at a time; logits are NumPy (V,)."""

    def start(self, prime_ids: list[int]) -> tuple[np.ndarray, Any]: ...
    def step(self, token: int, state: Any) -> tuple[np.ndarray, Any]: ...


def apply_repetition_penalty(logits: np.ndarray, seen, penalty: float) -> np.ndarray:
    """CTRL's penalty on the logits (V,) of the token ids in `seen`."""
    logits = floats(logits)
    seen = np.asarray(seen).astype(np.int64)
    if penalty == 1.0 or seen.size == 0:
        return logits
    ids = np.unique(seen)
    picked = logits[ids]
    logits[ids] = np.where(picked > 0, picked / penalty, picked * penalty)
    return logits


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """-inf everywhere but the k largest logits (V,)."""
    logits = floats(logits)
    if k >= logits.size:
        return logits
    kth = np.partition(logits, -k)[-k]
    return np.where(logits < kth, -np.inf, logits)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """-inf outside the smallest most-probable set whose probability reaches p."""
    logits = floats(logits)
    if p >= 1.0:
        return logits
    order = np.argsort(-logits, kind="stable")
    probs = softmax(logits[order])
    # keep a token if the mass before it is still below p: the token that crosses p stays
    drop_sorted = (np.cumsum(probs) - probs) >= p
    drop = np.zeros_like(drop_sorted)
    drop[order] = drop_sorted
    return np.where(drop, -np.inf, logits)


def floats(values) -> np.ndarray:
    """A float64 copy of any array-like (a NumPy array, a CPU tensor, a list)."""
    return np.asarray(values).astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits[np.isfinite(logits)].max())
    return shifted / shifted.sum()


def choose(logits, rule: SamplingRule, seen: list[int], rng: np.random.Generator) -> int:
    """The next token id from logits (V,); `seen` is the text so far (prime included)."""
    logits = floats(logits)
    logits[list(rule.banned)] = -np.inf
    if rule.repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, seen, rule.repetition_penalty)
    if rule.temperature == 0:
        return int(np.argmax(logits))
    if rule.temperature != 1.0:  # l / 1 is l: the division is skipped, not changed
        np.divide(logits, rule.temperature, out=logits)
    if rule.top_k is not None:
        logits = top_k_filter(logits, rule.top_k)
    if rule.top_p is not None:
        logits = top_p_filter(logits, rule.top_p)
    return draw(logits, rng)


def draw(logits: np.ndarray, rng: np.random.Generator) -> int:
    """The inverse-CDF draw from float64 logits (V,), which it overwrites: the first token
    whose cumulative softmax passes u * total. The same floating-point operations as
    `np.cumsum(softmax(logits))` in place (a batch-1 sampler calls this per token, where
    each array allocated costs about a microsecond of its ~10)."""
    top = logits.max()
    if not np.isfinite(top):  # a NaN or +inf: softmax's max over the finite logits
        top = logits[np.isfinite(logits)].max()
    np.subtract(logits, top, out=logits)
    np.exp(logits, out=logits)
    np.divide(logits, logits.sum(), out=logits)
    cdf = np.add.accumulate(logits, out=logits)  # what np.cumsum runs
    index = int(cdf.searchsorted(rng.random() * cdf[-1], side="right"))
    return min(index, cdf.size - 1)


def sample_steps(lm: Any, prime_ids: list[int], rule: SamplingRule,
                 seed: int | list[int] = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Each next token id after the prime, with the model's logits (V,) it was drawn from
    (before the rule), without end: the one sampling loop, which `generate` cuts and
    `seqlm serve` streams. The model steps only when the next token is asked for."""
    from seqlm.decoding.steppings import stepping_of

    if not prime_ids:
        raise ValueError("generation needs a prime of at least one token")
    stepping = stepping_of(lm)
    rng = np.random.default_rng(seed)
    logits, state = stepping.start(list(prime_ids))
    seen = list(prime_ids)
    while True:
        token = choose(logits, rule, seen, rng)
        yield token, logits
        seen.append(token)
        logits, state = stepping.step(token, state)


def generate(lm: Any, prime_ids: list[int], length: int, rule: SamplingRule,
             seed: int | list[int] = 0, stop_id: int | None = None) -> list[int]:
    """`length` new token ids after the prime (the prime not included), from any LM of
    seqlm (or a `Stepping`); stops early after `stop_id` if given (it is included)."""
    from seqlm.decoding.steppings import stepping_of

    if not prime_ids:
        raise ValueError("generation needs a prime of at least one token")
    stepping = stepping_of(lm)
    if getattr(stepping, "samples_in_graph", False):  # the ONNX generation loop
        drawn = stepping.sample(list(prime_ids), length, rule, np.random.default_rng(seed))
    else:
        drawn = (token for token, _ in islice(sample_steps(stepping, prime_ids, rule, seed),
                                               length))
    out = []
    for token in drawn:
        out.append(token)
        if token == stop_id:
            break
    return out

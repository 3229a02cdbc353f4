"""Sampling sentences from an n-gram model, with temperature.

Each step takes the model's whole next-token distribution given the last N-1 tokens
(`NgramModel.log_distribution`), sharpens or flattens it as p ** (1 / temperature)
renormalised, and draws one token by inverse CDF from a seeded `np.random.Generator`; a
sentence ends at `</s>` or after `max_tokens`. Temperature 0 means greedy, the limit of
temperature -> 0, as in `seqlm sample`: the most likely token (the lowest id among ties), so
every sample from one prefix is the same sentence. Stupid backoff's scores are normalised the
same way. Leaves out: top-k / top-p truncation and beam search (`seqlm.decoding` has them).
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import BOS, EOS, NGRAM_EOS_ID, split_line


def sample_tokens(model: NgramModel, rng: np.random.Generator, temperature: float = 1.0,
                  max_tokens: int = 100, prefix: list[str] | None = None) -> list[str]:
    """One sentence's tokens after `prefix` (without `<s>` or `</s>`)."""
    if not temperature >= 0:
        raise SeqlmError(f"temperature must be 0 or more, got {temperature}: 0 is greedy, 1 "
                         "samples the model as it is, below 1 sharpens, above 1 flattens")
    history = [BOS, *(prefix or [])]
    out: list[str] = []
    for _ in range(max_tokens):
        context = history[len(history) - (model.order - 1):] if model.order > 1 else []
        token = next_token(model.log_distribution(context), temperature, rng)
        if token == NGRAM_EOS_ID:
            break
        history.append(model.vocab.token(token))
        out.append(history[-1])
    return out


def next_token(log_p: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """A draw from p ** (1 / temperature) renormalised (V,); the argmax at temperature 0."""
    if temperature == 0:
        return int(np.argmax(log_p))
    logits = log_p / temperature
    p = np.exp(logits - logits.max())
    cdf = np.cumsum(p)
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(p) - 1)


def join_tokens(tokens: list[str], unit: str) -> str:
    """Tokens back to text: words with spaces, characters as they are, bytes as UTF-8."""
    if unit == "word":
        return " ".join(tokens)
    if unit == "byte":
        return "".join(tokens).encode("latin-1").decode("utf-8", errors="replace")
    return "".join(tokens)


def sample(model: NgramModel, n: int, seed: int, temperature: float = 1.0,
           max_tokens: int = 100, prefix: str = "") -> list[str]:
    """`n` sentences as text, reproducible from `seed`; each starts with `prefix`."""
    rng = np.random.default_rng(seed)
    start = split_line(prefix, model.unit) if prefix else []
    return [join_tokens(start + sample_tokens(model, rng, temperature, max_tokens, start),
                        model.unit) for _ in range(n)]


__all__ = ["sample", "sample_tokens", "join_tokens", "EOS"]

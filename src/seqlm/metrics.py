"""Units of log-probability and the scores built from them.

Inside seqlm every log-probability is in nats (natural log); this module is the only place
that converts to bits or log10 (ARPA files, KenLM's reports). Perplexity is exp of the mean
negative log-likelihood per predicted token; bits per character and bits per byte divide the
total by the character or UTF-8 byte count of the original text, which makes models with
different tokenizers comparable. Leaves out: BLEU and other sequence-level metrics.
"""

import math
from collections.abc import Sequence

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def nats_to_bits(nats: float) -> float:
    return nats / LN2


def bits_to_nats(bits: float) -> float:
    return bits * LN2


def nats_to_log10(nats: float) -> float:
    return nats / LN10


def log10_to_nats(log10_value: float) -> float:
    return log10_value * LN10


def perplexity(nll_nats_per_token: float) -> float:
    """exp(mean NLL in nats): 2.3 nats per token is a perplexity of 9.974."""
    return math.exp(nll_nats_per_token)


def perplexity_from_log10(total_log10_prob: float, n_tokens: int) -> float:
    """KenLM's report: 10 ** (-sum of log10 p / number of scored tokens)."""
    if n_tokens <= 0:
        raise ValueError("perplexity needs at least one scored token")
    return 10.0 ** (-total_log10_prob / n_tokens)


def bits_per_char(total_nll_nats: float, n_chars: int) -> float:
    """Total NLL of a text in bits divided by its number of characters."""
    if n_chars <= 0:
        raise ValueError("bits per character needs a non-empty text")
    return nats_to_bits(total_nll_nats) / n_chars


def bits_per_byte(total_nll_nats: float, n_bytes: int) -> float:
    """Total NLL of a text in bits divided by the UTF-8 byte count of the original text."""
    if n_bytes <= 0:
        raise ValueError("bits per byte needs a non-empty text")
    return nats_to_bits(total_nll_nats) / n_bytes


def token_accuracy(predicted: Sequence[int], target: Sequence[int]) -> float:
    """Fraction of positions where the prediction equals the target (equal lengths)."""
    if len(predicted) != len(target):
        raise ValueError(f"lengths differ: {len(predicted)} predicted, {len(target)} target")
    if not target:
        raise ValueError("token accuracy needs at least one token")
    return sum(p == t for p, t in zip(predicted, target, strict=True)) / len(target)


def exact_match(predicted: Sequence[str], target: Sequence[str]) -> float:
    """Fraction of whole sequences predicted exactly."""
    if len(predicted) != len(target):
        raise ValueError(f"lengths differ: {len(predicted)} predicted, {len(target)} target")
    if not target:
        raise ValueError("exact match needs at least one sequence")
    return sum(p == t for p, t in zip(predicted, target, strict=True)) / len(target)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (Wilson 1927); sound near 0 and 1."""
    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30 (any statistics table)
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95% Student-t interval of the mean of independent runs (seeds);
    one value gives a zero-width interval, more than 31 use the normal 1.96."""
    n = len(values)
    if n == 0:
        raise ValueError("an interval needs at least one value")
    mean = sum(values) / n
    if n == 1:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = (T_975[n - 2] if n - 1 <= len(T_975) else 1.959964) * sd / math.sqrt(n)
    return mean, mean - half, mean + half

"""Quantising a table of log10 values to 2**bits centres (KenLM's `build_binary -q -b`).

Binning starts as KenLM's `quantize.cc` does: sort the values, cut them into 2**bits bins of
equal size, each value stored as the index of its bin, whose centre is the mean of the values
in it. n-gram tables repeat values heavily (Tiny Shakespeare's 382,000 backoffs take 1,884
values), so equal-size bins collapse onto the frequent values; a few Lloyd-Max iterations
(1-D k-means over the distinct values weighted by how often they occur) then move the edges
to the midpoints between centres, which lowers the mean squared error. A table with no more
distinct values than bins is stored exactly. Values that must stay exact get a bin of their
own: 0 (a backoff that changes nothing, most n-grams' at the highest orders below N) and -inf
(a probability of zero). The largest |value - centre| of a table is its stated error bound:
a token's log10 probability moves by at most the bound of the probability table it was read
from plus the bounds of the backoff tables added to it. For tables too large to sort at once,
the bin edges come from an evenly spaced sample (`SAMPLE` values), the centres from a second
pass. Leaves out: KenLM's per-order separate bins for the probabilities of n-grams
that are and are not contexts.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

SAMPLE = 1 << 20


@dataclass(frozen=True)
class Quantizer:
    """Bin edges (inner boundaries, ascending) and the centre of each bin; codes >= `fixed`
    are the exact values `exact` (0 and/or -inf)."""

    edges: np.ndarray  # (B-1,) float64
    centres: np.ndarray  # (B + len(exact),) float32: bins, then the exact values
    exact: tuple[float, ...]
    max_error: float  # over the values the centres were fitted on

    @property
    def fixed(self) -> int:
        return len(self.centres) - len(self.exact)

    def codes(self, values: np.ndarray, dtype) -> np.ndarray:
        out = np.searchsorted(self.edges, values, side="right").astype(dtype)
        for j, v in enumerate(self.exact):
            out[values == v] = self.fixed + j
        return out


def fit_quantizer(blocks: Callable[[], Iterator[np.ndarray]], bits: int,
                  exact: tuple[float, ...]) -> Quantizer:
    """Bins for the values `blocks()` yields (it is called twice: edges, then centres)."""
    bins = (1 << bits) - len(exact)
    sample = np.concatenate([sample_of(b, exact) for b in blocks()] or [np.zeros(0)])
    if len(sample) > SAMPLE:
        sample = np.sort(sample)[np.linspace(0, len(sample) - 1, SAMPLE).astype(np.int64)]
    edges = lloyd_max(sample, bins)
    n = len(edges) + 1
    sums, counts = np.zeros(n), np.zeros(n)
    for b in blocks():
        v = b[~np.isin(b, exact)].astype(np.float64)
        code = np.searchsorted(edges, v, side="right")
        sums += np.bincount(code, weights=v, minlength=n)
        counts += np.bincount(code, minlength=n)
    centres = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0).astype(np.float32)
    error = 0.0
    for b in blocks():
        v = b[~np.isin(b, exact)].astype(np.float64)
        if len(v):
            error = max(error, float(np.abs(v - centres[np.searchsorted(edges, v,
                                                                        side="right")]).max()))
    return Quantizer(edges=edges, centres=np.concatenate([centres, np.array(exact, np.float32)]),
                     exact=exact, max_error=error)


def lloyd_max(sample: np.ndarray, bins: int, rounds: int = 20) -> np.ndarray:
    """Inner bin edges (ascending) for `bins` bins: equal-size bins, then Lloyd-Max rounds."""
    distinct, weight = np.unique(sample, return_counts=True)
    if len(distinct) <= bins:  # every value its own bin: cut halfway between neighbours
        return (distinct[1:] + distinct[:-1]) / 2
    cut = np.linspace(0, len(sample), bins + 1)[1:-1].astype(np.int64)
    edges = np.unique(np.sort(sample)[cut])
    for _ in range(rounds):
        code = np.searchsorted(edges, distinct, side="right")
        mass = np.bincount(code, weights=weight, minlength=len(edges) + 1)
        sums = np.bincount(code, weights=weight * distinct, minlength=len(edges) + 1)
        centres = (sums / np.maximum(mass, 1))[mass > 0]
        edges = (centres[1:] + centres[:-1]) / 2
    return edges


def sample_of(block: np.ndarray, exact: tuple[float, ...]) -> np.ndarray:
    """At most SAMPLE values of a block, evenly spaced, leaving the exact values out."""
    v = block[~np.isin(block, exact)]
    if len(v) > SAMPLE:
        v = v[np.linspace(0, len(v) - 1, SAMPLE).astype(np.int64)]
    return v.astype(np.float64)

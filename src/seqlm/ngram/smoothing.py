"""Estimating a model from counts: MLE, add-k, Kneser-Ney, modified Kneser-Ney, stupid backoff.

- `mle`: p(w | h) = c(hw) / c(h.) at the longest context seen in training; unseen words after
  a seen context get probability 0 (infinite perplexity on new text, as MLE does).
- `addk` (Laplace at k = 1): p(w | h) = (c(hw) + k) / (c(h.) + k |V|) at the longest context
  seen in training (Jurafsky & Martin, ch. 3; an unseen context backs off to its longest seen
  suffix instead of the uniform distribution).
- `kn`: interpolated Kneser-Ney with one discount D = t1 / (t1 + 2 t2) per order.
- `mkn`: interpolated modified Kneser-Ney with D1, D2, D3+ per order (Chen & Goodman 1998),
  identical to KenLM's `lmplz`: adjusted counts (`seqlm.ngram.counts`), discounts
  (`seqlm.ngram.discounts`), and the interpolation of `seqlm.ngram.estimate`, which also
  runs in bounded memory and prunes (`seqlm.ngram.prune`).
- `stupid`: Brants et al. (2007) stupid backoff, relative frequencies with a factor alpha per
  backed-off order: scores for ranking, NOT probabilities.

`<s>` is never predicted. Every estimator returns the tables of an `NgramModel`; `fit` in
`seqlm.ngram.fit` picks one by name. mle, add-k and stupid backoff work on counts in memory.
Leaves out: Katz backoff, Witten-Bell, Jelinek-Mercer; pruning of mle, add-k and stupid.
"""

import numpy as np

from seqlm.ngram import single_precision as single
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.counts import NgramCounts
from seqlm.ngram.estimate import estimate
from seqlm.ngram.spill import Workspace
from seqlm.ngram.stream import NGRAM_BOS_ID

Tables = dict  # keyword arguments of NgramModel: form, logp, backoff / floor / log_alpha, info


def log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


def counts_of(c: NgramCounts, k: int) -> np.ndarray:
    return c.counts[k - 1].array()


def context_totals(c: NgramCounts, k: int, values: np.ndarray) -> np.ndarray:
    """sum over x of values(hx) for every order-(k-1) context h. (M_{k-1},)"""
    totals = np.bincount(c.parents(k), weights=values, minlength=len(c.keys[k - 2]))
    return totals.astype(np.float64)  # an empty order would give int64


def relative_frequencies(c: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """c(hw) / c(h.) per order (unigrams: c(w) / all but `<s>`), and the totals c(h.) of the
    contexts of each order 1..N-1."""
    u = counts_of(c, 1).astype(float)
    u[NGRAM_BOS_ID] = 0.0
    probs, totals = [u / u.sum()], []
    for k in range(2, c.order + 1):
        total = context_totals(c, k, counts_of(c, k).astype(float))
        probs.append(counts_of(c, k) / total[c.parents(k)])
        totals.append(total)
    return probs, totals


def mle(c: NgramCounts, precision="double", **_) -> Tables:
    probs, totals = relative_frequencies(c)
    backoff = [np.where(t > 0, -np.inf, 0.0) for t in totals]  # seen context: no mass left
    logp = [log(p) for p in probs]
    if precision == "kenlm":  # float32 log10 values, as an ARPA file read by KenLM holds them
        logp = single.nats_of([single.to_log10_32(x) for x in logp])
    return {"form": "backoff", "logp": logp, "backoff": backoff}


def addk(c: NgramCounts, k: float = 1.0, **_) -> Tables:
    n_types = c.V - 1  # every unigram but <s>
    u = counts_of(c, 1).astype(float)
    p1 = (u + k) / (u.sum() - u[NGRAM_BOS_ID] + k * n_types)
    p1[NGRAM_BOS_ID] = 0.0
    logp, floors = [log(p1)], []
    for order in range(2, c.order + 1):
        total = context_totals(c, order, counts_of(c, order).astype(float))
        denom = total + k * n_types  # (M_{order-1},)
        logp.append(log((counts_of(c, order) + k) / denom[c.parents(order)]))
        floors.append(np.where(total > 0, log(k / denom), np.nan))
    return {"form": "floor", "logp": logp, "floor": floors, "info": {"k": k}}


def stupid(c: NgramCounts, alpha: float = 0.4, **_) -> Tables:
    probs, _ = relative_frequencies(c)
    return {"form": "stupid", "logp": [log(p) for p in probs], "log_alpha": float(np.log(alpha)),
            "info": {"alpha": alpha}}


def kneser_ney_family(smoothing: str):
    """`kn` or `mkn`: the tables of `seqlm.ngram.estimate`, as arrays of an in-memory model."""

    def estimator(c: NgramCounts, fallback=None, precision="double", ws=None, pruning=None,
                  progress=None, **_) -> Tables:
        est = estimate(c, smoothing, precision, fallback, ws or Workspace(MemoryBudget()),
                       pruning, progress)
        return {"form": "backoff", "keys": [k.array() for k in est.keys],
                "logp": [t.array() for t in est.logp],
                "backoff": [t.array() for t in est.backoff], "info": est.info}

    estimator.__name__ = smoothing
    return estimator


ESTIMATORS = {"mle": mle, "addk": addk, "kn": kneser_ney_family("kn"),
              "mkn": kneser_ney_family("mkn"), "stupid": stupid}

"""Estimating a model from counts: MLE, add-k, Kneser-Ney, modified Kneser-Ney, stupid backoff.

- `mle`: p(w | h) = c(hw) / c(h.) at the longest context seen in training; unseen words after
  a seen context get probability 0 (infinite perplexity on new text, as MLE does).
- `addk` (Laplace at k = 1): p(w | h) = (c(hw) + k) / (c(h.) + k |V|) at the longest context
  seen in training (Jurafsky & Martin, ch. 3; an unseen context backs off to its longest seen
  suffix instead of the uniform distribution).
- `kn`: interpolated Kneser-Ney with one discount D = t1 / (t1 + 2 t2) per order.
- `mkn`: interpolated modified Kneser-Ney with D1, D2, D3+ per order (Chen & Goodman 1998),
  identical to KenLM's `lmplz`: adjusted counts (`seqlm.ngram.counts`), discounts
  (`seqlm.ngram.discounts`), and
      p(w | h) = (a(hw) - D(a(hw))) / sum_x a(hx) + gamma(h) p(w | h')
      gamma(h) = (D1 n1(h) + D2 n2(h) + D3+ n3+(h)) / sum_x a(hx)
  down to the uniform 1/|V| below the unigrams, |V| counting every unigram but `<s>`.
- `stupid`: Brants et al. (2007) stupid backoff, relative frequencies with a factor alpha per
  backed-off order: scores for ranking, NOT probabilities.

`<s>` is never predicted (probability 0, log10 -99 in ARPA files). Every estimator returns the
tables of an `NgramModel`; `fit` in `seqlm.ngram.fit` picks one by name.
Leaves out: Katz backoff, Witten-Bell, Jelinek-Mercer, pruning.
"""

import numpy as np

from seqlm.ngram import single_precision as single
from seqlm.ngram.counts import NgramCounts, adjusted_counts
from seqlm.ngram.discounts import Discounts, kneser_ney, modified_kn
from seqlm.ngram.stream import NGRAM_BOS_ID

Tables = dict  # keyword arguments of NgramModel: form, logp, backoff / floor / log_alpha, info


def log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


def context_totals(c: NgramCounts, k: int, values: np.ndarray) -> np.ndarray:
    """sum over x of values(hx) for every order-(k-1) context h. (M_{k-1},)"""
    totals = np.bincount(c.parents(k), weights=values, minlength=len(c.keys[k - 2]))
    return totals.astype(np.float64)  # an empty order would give int64


def relative_frequencies(c: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """c(hw) / c(h.) per order (unigrams: c(w) / all but `<s>`), and the totals c(h.) of the
    contexts of each order 1..N-1."""
    u = c.counts[0].astype(float)
    u[NGRAM_BOS_ID] = 0.0
    probs, totals = [u / u.sum()], []
    for k in range(2, c.order + 1):
        total = context_totals(c, k, c.counts[k - 1].astype(float))
        probs.append(c.counts[k - 1] / total[c.parents(k)])
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
    u = c.counts[0].astype(float)
    p1 = (u + k) / (u.sum() - u[NGRAM_BOS_ID] + k * n_types)
    p1[NGRAM_BOS_ID] = 0.0
    logp, floors = [log(p1)], []
    for order in range(2, c.order + 1):
        total = context_totals(c, order, c.counts[order - 1].astype(float))
        denom = total + k * n_types  # (M_{order-1},)
        logp.append(log((c.counts[order - 1] + k) / denom[c.parents(order)]))
        floors.append(np.where(total > 0, log(k / denom), np.nan))
    return {"form": "floor", "logp": logp, "floor": floors, "info": {"k": k}}


def stupid(c: NgramCounts, alpha: float = 0.4, **_) -> Tables:
    probs, _ = relative_frequencies(c)
    return {"form": "stupid", "logp": [log(p) for p in probs], "log_alpha": float(np.log(alpha)),
            "info": {"alpha": alpha}}


def interpolate(c: NgramCounts, adjusted: list[np.ndarray],
                discounts: list[Discounts]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Interpolated Kneser-Ney probabilities of every n-gram, and log gamma of every context."""
    a = adjusted[0].astype(float)
    d = discounts[0].table()[np.minimum(adjusted[0], 3)]
    p = (a - d) / a.sum() + (d.sum() / a.sum()) / (c.V - 1)  # uniform over all but <s>
    p[NGRAM_BOS_ID] = 0.0
    probs, backoffs = [p], []
    for k in range(2, c.order + 1):
        a = adjusted[k - 1].astype(float)
        d = discounts[k - 1].table()[np.minimum(adjusted[k - 1], 3)]
        total = context_totals(c, k, a)
        gamma = np.divide(context_totals(c, k, d), total, out=np.ones_like(total),
                          where=total > 0)
        parent = c.parents(k)
        probs.append((a - d) / total[parent] + gamma[parent] * probs[-1][c.suffix[k - 1]])
        backoffs.append(log(gamma))  # 0 where the n-gram is never a context
    return probs, backoffs


def kneser_ney_family(c: NgramCounts, estimate, fallback, precision: str) -> Tables:
    adjusted = adjusted_counts(c)
    discounts = [estimate(k, adjusted[k - 1], fallback) for k in range(1, c.order + 1)]
    info = {"discounts": [list(d.as_tuple()) for d in discounts],
            "fallback_orders": [k for k, d in enumerate(discounts, 1) if d.fallback]}
    if precision == "kenlm":  # lmplz's float arithmetic, step for step
        d32 = [single.discounts32(a, d) for a, d in zip(adjusted, discounts, strict=True)]
        probs10, backoffs10 = single.interpolate32(c, adjusted, d32, NGRAM_BOS_ID)
        info["discounts"] = [[float(x) for x in d[1:]] for d in d32]
        return {"form": "backoff", "logp": single.nats_of(probs10),
                "backoff": single.nats_of(backoffs10), "info": info}
    probs, backoffs = interpolate(c, adjusted, discounts)
    return {"form": "backoff", "logp": [log(p) for p in probs], "backoff": backoffs,
            "info": info}


def kn(c: NgramCounts, fallback=None, precision="double", **_) -> Tables:
    return kneser_ney_family(c, kneser_ney, fallback, precision)


def mkn(c: NgramCounts, fallback=None, precision="double", **_) -> Tables:
    return kneser_ney_family(c, modified_kn, fallback, precision)


ESTIMATORS = {"mle": mle, "addk": addk, "kn": kn, "mkn": mkn, "stupid": stupid}

"""Relative-entropy pruning of a backoff model (Stolcke 1998, "Entropy-based pruning of backoff
language models", eqs. 3-9; SRILM's `ngram -prune`).

Removing the n-gram h w (order ≥ 2) makes the model back off for w after h, and changes the
backoff weight of h from α(h) = num / den to α'(h) = (num + p(w|h)) / (den + p(w|h')), where
num = 1 - Σ_{listed v} p(v|h) and den = 1 - Σ_{listed v} p(v|h'). The relative entropy
between the model and the model without h w is

    D = -P(h) { p(w|h) [log p(w|h') + log α'(h) - log p(w|h)] + [log α'(h) - log α(h)] num }

with P(h) the model's own probability of the history (chain rule, P(<s>) = 1). As in SRILM
every D is computed on the full model, and h w is pruned when the perplexity it would add,
exp(D) - 1, is below θ; `target_ngrams` instead prunes the lowest D until the model has that
many n-grams. An n-gram stays while a kept longer one needs it as its context or as its
suffix (the model stays closed, as KenLM requires), and the backoff weights are recomputed
for the n-grams kept (`seqlm.ngram.static_mix.mixed_backoffs`); probabilities of kept
n-grams do not change. Unigrams are never pruned, nor, with `min_order` K (SRILM's
-minprune), any n-gram of an order below K.

Count cut-offs first (`cutoffs`, lmplz's `--prune` thresholds t_k, with the n-grams' raw
training counts from `seqlm.ngram.training_counts`): the n-grams of order k counted at most
t_k times go whatever their D, and D chooses among the rest. This is SRILM's practice of
training with cut-offs (`-gtNmin`) and then pruning by entropy, except that the cut n-grams
leave the way entropy pruning removes n-grams (kept probabilities unchanged, backoffs
recomputed), not by re-estimating the model without them as lmplz does; on Tiny Shakespeare
that is what beats count pruning at equal size (docs/ngram.md). Leaves out: pruning with a
separate history model (SRILM's -prune-history-lm; tried with a raw-count model for P(h),
docs/ngram.md: no gain).
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.model import NgramModel
from seqlm.ngram.prune import Pruning
from seqlm.ngram.static_mix import component_logp, mixed_backoffs, row_keys, rows_of
from seqlm.ngram.stream import NGRAM_BOS_ID


def history_logprobs(model: NgramModel) -> list[np.ndarray]:
    """log P(h) of every n-gram h of orders 1..N-1 as a history (chain rule; P(<s>) = 1)."""
    first = model.logp[0].copy()
    first[NGRAM_BOS_ID] = 0.0
    out = [first]
    for k in range(2, model.order):
        out.append(out[-1][trie.parents(model.keys[k - 1], model.V)] + model.logp[k - 1])
    return out


def relative_entropies(model: NgramModel) -> list[np.ndarray]:
    """D of every n-gram of orders 2..N (index k-2), nats (module docstring)."""
    V, history = model.V, history_logprobs(model)
    identity = np.arange(V)
    out = []
    for k in range(2, model.order + 1):
        keys, n_ctx = model.keys[k - 1], len(model.keys[k - 2])
        h = trie.parents(keys, V)
        logp = model.logp[k - 1]
        log_low = component_logp(model, rows_of(model.keys, k, V)[:, 1:], identity)
        p, p_low = np.exp(logp), np.exp(log_low)
        num = np.clip(1.0 - np.bincount(h, weights=p, minlength=n_ctx), 0.0, None)[h]
        den = np.clip(1.0 - np.bincount(h, weights=p_low, minlength=n_ctx), 0.0, None)[h]
        log_alpha = model.backoff[k - 2][h]
        log_alpha_new = np.log(num + p) - np.log(den + p_low)
        D = -np.exp(history[k - 2][h]) * (p * (log_low + log_alpha_new - logp)
                                          + (log_alpha_new - log_alpha) * num)
        out.append(np.maximum(D, 0.0))  # rounding may leave -1e-17
    return out


def links(model: NgramModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """For orders 3..N (index k-3): each n-gram's context id and suffix id, one order down."""
    V, out = model.V, []
    for k in range(3, model.order + 1):
        suffix = rows_of(model.keys, k, V)[:, 1:]
        out.append((trie.parents(model.keys[k - 1], V),
                    trie.find(model.keys[k - 2], row_keys(suffix, model.keys, V))))
    return out


def closed_keep(prunable: list[np.ndarray], linked: list[tuple[np.ndarray, np.ndarray]]
                ) -> list[np.ndarray]:
    """Which n-grams of orders 2..N stay: not prunable, or needed by a kept longer n-gram as
    its context (prefix) or its backoff target (suffix)."""
    keep = [~p for p in prunable]
    for j in range(len(keep) - 1, 0, -1):  # order j+2's survivors protect order j+1
        parent, suffix = linked[j - 1]
        kept = keep[j]
        keep[j - 1][parent[kept]] = True
        keep[j - 1][suffix[kept & (suffix >= 0)]] = True
    return keep


def pruned_model(model: NgramModel, keep: list[np.ndarray]) -> NgramModel:
    """The model with only the kept n-grams of orders ≥ 2, its backoffs recomputed."""
    V = model.V
    keys, logp = [model.keys[0]], [model.logp[0]]
    for k in range(2, model.order + 1):
        rows = rows_of(model.keys, k, V)[keep[k - 2]]
        keys.append(row_keys(rows, keys, V) if len(rows) else np.zeros(0, np.int64))
        logp.append(model.logp[k - 1][keep[k - 2]])
    backoff = [mixed_backoffs(keys, logp, k, V) for k in range(1, model.order)]
    return NgramModel(vocab=model.vocab, unit=model.unit, order=model.order,
                      smoothing=model.smoothing, form="backoff", keys=keys, logp=logp,
                      backoff=backoff, info={**model.info, "counts": [len(k) for k in keys]})


def total(keep: list[np.ndarray], V: int) -> int:
    return V + sum(int(k.sum()) for k in keep)


def prune_entropy(model: NgramModel, threshold: float = 0.0,
                  target_ngrams: int | None = None, min_order: int = 2,
                  cutoffs: tuple[int, ...] = (), counts: list[np.ndarray] | None = None,
                  ) -> NgramModel:
    """The model pruned at perplexity-increase threshold θ, or to `target_ngrams` n-grams;
    n-grams of orders below `min_order` stay. With `cutoffs` (lmplz's --prune thresholds) the
    n-grams whose raw count in `counts` (orders 2..N, `training_counts`) is at most t_k go
    first."""
    if model.form != "backoff":
        raise SeqlmError(f"entropy pruning needs a backoff model, not {model.smoothing}: use "
                         "--smoothing kn, mkn or mle")
    if threshold < 0 or (target_ngrams is not None and target_ngrams < 1):
        raise SeqlmError(f"the pruning threshold must be >= 0 (got {threshold:g}) and the "
                         "target a positive number of n-grams: e.g. --prune-entropy 1e-7")
    if not 2 <= min_order <= model.order:
        raise SeqlmError(f"--min-order {min_order} for a model of order {model.order}: give "
                         f"an order from 2 to {model.order}")
    D, linked = relative_entropies(model), links(model)
    D = [d if k >= min_order else np.full(len(d), np.inf) for k, d in enumerate(D, 2)]
    D = cut_first(D, cutoffs, counts, model.order)
    if target_ngrams is None:
        return pruned_model(model, closed_keep([np.expm1(d) < threshold for d in D], linked))
    return pruned_model(model, keep_at_most(model.V, D, linked, target_ngrams))


def cut_first(D: list[np.ndarray], cutoffs: tuple[int, ...], counts: list[np.ndarray] | None,
              order: int) -> list[np.ndarray]:
    """D with the n-grams under the count cut-offs set to -1: pruned at any θ and at any size."""
    pruning = Pruning.of(cutoffs, order)
    if pruning is None or not pruning.active:
        return D
    if counts is None or [len(c) for c in counts] != [len(d) for d in D]:
        raise SeqlmError("count cut-offs need the raw training count of every n-gram: give the "
                         "model's training text (seqlm.ngram.training_counts)")
    return [np.where(c <= t, -1.0, d) for d, c, t in zip(D, counts, pruning.thresholds[1:],
                                                          strict=True)]


def keep_at_most(V: int, D: list[np.ndarray], linked: list[tuple[np.ndarray, np.ndarray]],
                 target: int) -> list[np.ndarray]:
    """The smallest D cut (binary search over the sorted values) whose closed model has at
    most `target` n-grams; if even that is too many, the n-grams that cannot be pruned
    (D = ∞: unigrams, and the orders below `min_order`) alone. D = -1 (count cut-offs) is
    always pruned; the first candidate, -1, prunes only those."""
    values = np.unique(np.concatenate([[-1.0], *D]))
    values = values[np.isfinite(values)]  # D = ∞: never pruned (below `min_order`)
    lo, hi = 0, len(values)  # prune D <= values[i]; i = len(values): prune everything
    best = closed_keep([np.isfinite(d) for d in D], linked)
    while lo < hi:
        mid = (lo + hi) // 2
        keep = closed_keep([d <= values[mid] for d in D], linked)
        if total(keep, V) <= target:
            best, hi = keep, mid
        else:
            lo = mid + 1
    return best

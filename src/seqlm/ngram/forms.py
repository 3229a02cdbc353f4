"""How a model's tables combine into log p(w | h): backoff, floor, or stupid backoff.

Every model stores, per order k, a log-probability (nats) for each n-gram it holds and, per
context n-gram, one more number. Let m be the order of the longest held n-gram `h_{m-1} w`
ending in the predicted word (an OOV word is `<unk>`, m = 1), and h_j the context of length j.

- `backoff` (ARPA semantics; MLE, Kneser-Ney, modified Kneser-Ney):
      log p(w | h) = logp[m](h_{m-1} w) + sum over j = m .. N-1 of backoff[j](h_j)
  where the sum runs over the contexts h_j held in the tables. For interpolated Kneser-Ney the
  stored logp is the interpolated probability and backoff[j](h_j) = log gamma(h_j), which makes
  this exact (Heafield et al. 2013, section 3.4); MLE's backoff of a seen context is -inf.
- `floor` (add-k): with c the length of the longest held context that has a floor,
      log p(w | h) = logp[m](h_{m-1} w) if m - 1 == c, else floor[c](h_c)
  (every unseen word after h_c gets the same add-k mass).
- `stupid` (Brants et al. 2007): relative frequencies times alpha per shortened order; with L
  the context length available (at most N-1, cut at `<s>` and after an OOV),
      log S(w | h) = logf[m](h_{m-1} w) + (L - (m - 1)) log alpha.
  These are scores, not probabilities: they do not sum to one over w.

Each form does two things: combine per-position lookups (`score`) and build the dense
next-token vector of one context (`vector`). `score` gets, per context length j, the
positions whose h_j is held and its id (`before[j-1]`, sparse: most positions hold no long
context). Leaves out: n-grams held without their context or suffix (unreachable: the match
grows one word at a time, as KenLM's does).
"""

import numpy as np

from seqlm.ngram import trie
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, NGRAM_UNK_ID


def dense_total(model, ids: np.ndarray, oov: np.ndarray, found) -> tuple[float, float]:
    """(sum of log p over the scored positions, the OOVs' part): every token scored, added."""
    nats, _ = model.score_matches(ids, oov, found)
    scored = ids != NGRAM_BOS_ID
    return float(nats[scored].sum()), float(nats[scored & oov].sum())


def add_up(model, n_oov: int, probs: list, backs: list, oov_backs: list) -> tuple[float, float]:
    """(total, the OOVs' part) of the backoff form's terms: per order k, the probabilities of
    its final matches (probs[k-1]), then its backoffs applied (backs[k-1]) and those before an
    OOV (oov_backs[k-1]), each array in text order. The one order of additions both engines
    use (`seqlm.ngram.compiled_score` gathers the same arrays), so totals agree to the bit."""
    total = oov_total = n_oov * model.logp[0][NGRAM_UNK_ID] if n_oov else 0.0
    for k in range(1, model.order + 1):
        total += probs[k - 1].sum()
        if k < model.order:
            total += backs[k - 1].sum()
            oov_total += oov_backs[k - 1].sum()
    return float(total), float(oov_total)


class Backoff:
    name = "backoff"
    needs_runs = False  # score() takes the context length available only for stupid backoff

    def score(self, model, stored, m, before, run) -> np.ndarray:
        out = stored.copy()
        for j, (at, ctx) in enumerate(before, 1):  # h_j held at positions `at`
            use = j >= m[at]
            out[at[use]] += model.backoff[j - 1][ctx[use]]
        return out

    def total(self, model, ids: np.ndarray, oov: np.ndarray, found) -> tuple[float, float]:
        """`dense_total` without laying a value at every position: the probability of each
        match not extended, plus the backoff of each match that is no longer match's context
        (the terms of the formula above, gathered order by order and added by `add_up`)."""
        probs, backs, oov_backs = [], [], []
        for k, m in enumerate(found, 1):
            final = ~m.extended
            if k == 1:
                final &= ids[m.at] != NGRAM_BOS_ID  # <s> is never predicted
            probs.append(model.logp[k - 1][m.ids[final]])
            if k < model.order:  # a context ending in </s> precedes an <s>: never applied
                applied = ~m.context_used & (m.at + 1 < len(ids)) & (ids[m.at] != NGRAM_EOS_ID)
                b = model.backoff[k - 1][m.ids[applied]]
                backs.append(b)
                oov_backs.append(b[oov[m.at[applied] + 1]])
        return add_up(model, int(oov.sum()), probs, backs, oov_backs)

    def vector(self, model, chain: list[int], L: int) -> np.ndarray:
        logv = model.logp[0].copy()  # (V,)
        for j, ctx in enumerate(chain, 1):
            logv += model.backoff[j - 1][ctx]
            lo, hi = trie.extensions(model.keys[j], ctx, model.V)
            logv[trie.last_words(model.keys[j][lo:hi], model.V)] = model.logp[j][lo:hi]
        return logv


class Floor:
    name = "floor"
    needs_runs = False
    total = staticmethod(dense_total)

    def score(self, model, stored, m, before, run) -> np.ndarray:
        c = np.zeros(len(stored), dtype=np.int64)
        floor = np.zeros(len(stored))
        for j, (at, ctx) in enumerate(before, 1):
            f = model.floor[j - 1][ctx]
            has = ~np.isnan(f)
            c[at[has]], floor[at[has]] = j, f[has]
        return np.where(m - 1 == c, stored, floor)

    def vector(self, model, chain: list[int], L: int) -> np.ndarray:
        held = [(j, ctx) for j, ctx in enumerate(chain, 1)
                if not np.isnan(model.floor[j - 1][ctx])]
        if not held:
            return model.logp[0].copy()
        c, ctx = held[-1]
        logv = np.full(model.V, model.floor[c - 1][ctx])
        lo, hi = trie.extensions(model.keys[c], ctx, model.V)
        logv[trie.last_words(model.keys[c][lo:hi], model.V)] = model.logp[c][lo:hi]
        return logv


class Stupid:
    name = "stupid"
    needs_runs = True
    total = staticmethod(dense_total)

    def score(self, model, stored, m, before, run) -> np.ndarray:
        L = np.minimum(run, model.order - 1)
        return stored + (L - (m - 1)) * model.log_alpha

    def vector(self, model, chain: list[int], L: int) -> np.ndarray:
        logv = model.logp[0] + L * model.log_alpha
        for j, ctx in enumerate(chain, 1):
            lo, hi = trie.extensions(model.keys[j], ctx, model.V)
            words = trie.last_words(model.keys[j][lo:hi], model.V)
            logv[words] = model.logp[j][lo:hi] + (L - j) * model.log_alpha
        return logv


FORMS = {form.name: form for form in (Backoff(), Floor(), Stupid())}

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
next-token vector of one context (`vector`). Leaves out: pruned-model quirks (a held n-gram
whose context is missing).
"""

import numpy as np

from seqlm.ngram import trie


class Backoff:
    name = "backoff"

    def score(self, model, stored, m, contexts, run) -> np.ndarray:
        out = stored.copy()
        for j, ctx in enumerate(contexts, 1):  # ctx: (P,) id of h_j or -1
            use = (ctx >= 0) & (j >= m)
            out[use] += model.backoff[j - 1][ctx[use]]
        return out

    def vector(self, model, chain: list[int], L: int) -> np.ndarray:
        logv = model.logp[0].copy()  # (V,)
        for j, ctx in enumerate(chain, 1):
            logv += model.backoff[j - 1][ctx]
            lo, hi = trie.extensions(model.keys[j], ctx, model.V)
            logv[trie.last_words(model.keys[j][lo:hi], model.V)] = model.logp[j][lo:hi]
        return logv


class Floor:
    name = "floor"

    def score(self, model, stored, m, contexts, run) -> np.ndarray:
        c = np.zeros(len(stored), dtype=np.int64)
        floor = np.zeros(len(stored))
        for j, ctx in enumerate(contexts, 1):
            f = np.full(len(stored), np.nan)
            f[ctx >= 0] = model.floor[j - 1][ctx[ctx >= 0]]
            has = ~np.isnan(f)
            c[has], floor[has] = j, f[has]
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

    def score(self, model, stored, m, contexts, run) -> np.ndarray:
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

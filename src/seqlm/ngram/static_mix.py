"""Static mixing: several backoff n-gram models interpolated into one backoff model, written as
one ARPA file (SRILM's `ngram -mix-lm B -lambda λ -write-lm`, Stolcke 2002).

The mixed model lists the union of the components' n-grams. Each listed n-gram h w gets

    p(w | h) = Σ_k λ_k p_k(w | h)        (p_k with its own backoff where it lacks h w)

and each context h a backoff weight that makes its distribution sum to one again:

    bo(h) = (1 - Σ_{w: hw listed} p(w | h)) / (1 - Σ_{w: hw listed} p(w | h'))   (h' = h less
    its first word; h'w is listed too, since every component's n-grams are suffix-closed)

Where the exact n-gram is listed this equals the dynamic mixture `Σ_k λ_k p_k(w | h)` to the
last digit; where the mixed model backs off it gives bo(h) · p(w | h') instead of
Σ_k λ_k bo_k(h) p_k(w | h'): the same only when every component's backoff weight for h is
the same. The model stays normalised either way. All components must share one unit and one
vocabulary (ids may differ: they are matched by token). Leaves out: SRILM's -bayes mixing and
renormalising an n-gram set that is not suffix-closed.
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import NGRAM_UNK_ID


def check_models(models: list[NgramModel], weights: np.ndarray) -> None:
    from seqlm.ngram.mixture import check_weights

    check_weights(weights, len(models))
    first = models[0]
    for m in models:
        if m.form != "backoff":
            raise SeqlmError(f"a {m.smoothing} model has no backoff form to mix statically: "
                             "use kn, mkn or mle models (ARPA or binary)")
        if m.unit != first.unit:
            raise SeqlmError(f"a {m.unit} model cannot be mixed with a {first.unit} model: mix "
                             "models of one unit")
        if set(m.vocab.tokens) != set(first.vocab.tokens):
            raise SeqlmError("a model of another vocabulary: static mixing needs models of one "
                             "vocabulary; train them on the same corpus split")


def word_rows(model: NgramModel, k: int, to_first: np.ndarray) -> np.ndarray:
    """The words of every order-k n-gram of `model` (M_k, k), in the first model's ids."""
    rows = to_first[np.arange(model.V)][:, None]
    for j in range(2, k + 1):
        keys = model.keys[j - 1]
        rows = np.hstack([rows[trie.parents(keys, model.V)],
                          to_first[trie.last_words(keys, model.V)][:, None]])
    return rows


def row_keys(rows: np.ndarray, keys: list[np.ndarray], V: int) -> np.ndarray:
    """Trie keys of n-gram rows (M, k) in tables `keys` (orders 1..k-1 known); -1 if absent."""
    ids = rows[:, 0].astype(np.int64)
    for j in range(1, rows.shape[1]):
        key = trie.pack(ids, rows[:, j], V)
        if j == rows.shape[1] - 1:
            return key
        ids = trie.find(keys[j], key)
        if (ids < 0).any():
            raise SeqlmError("a model lists an n-gram without its prefix (not suffix-closed): "
                             "only complete backoff models can be mixed statically")
    return ids


def union_keys(models: list[NgramModel], maps: list[np.ndarray]) -> list[np.ndarray]:
    V, order = models[0].V, max(m.order for m in models)
    keys = [np.arange(V, dtype=np.int64)]
    for k in range(2, order + 1):
        parts = [row_keys(word_rows(m, k, f), keys, V) for m, f in zip(models, maps, strict=True)
                 if m.order >= k]
        keys.append(np.unique(np.concatenate(parts)))
    return keys


def rows_of(keys: list[np.ndarray], k: int, V: int) -> np.ndarray:
    """The word rows (M_k, k) of the order-k keys of a trie."""
    rows = np.arange(V, dtype=np.int64)[:, None]
    for j in range(2, k + 1):
        rows = np.hstack([rows[trie.parents(keys[j - 1], V)],
                          trie.last_words(keys[j - 1], V)[:, None]])
    return rows


def component_logp(model: NgramModel, rows: np.ndarray, from_first: np.ndarray) -> np.ndarray:
    """log p_model(last word | the others) of every row (M,), each scored alone: an OOV mark
    before every row cuts the context there."""
    M, k = rows.shape
    ids = np.zeros((M, k + 1), dtype=np.int64)
    ids[:, 1:] = from_first[rows]
    oov = np.zeros((M, k + 1), dtype=bool)
    oov[:, 0] = True
    ids[:, 0] = NGRAM_UNK_ID
    pos = np.arange(M) * (k + 1) + k
    nats, _ = model.score_positions(ids.ravel(), oov.ravel(), pos)
    return nats


def mixed_backoffs(keys: list[np.ndarray], logp: list[np.ndarray], k: int, V: int) -> np.ndarray:
    """bo(h) (nats) of every order-k context h from the mixed probabilities (M_k,)."""
    ext = keys[k]  # order k+1
    parent = trie.parents(ext, V)
    p_here = np.bincount(parent, weights=np.exp(logp[k]), minlength=len(keys[k - 1]))
    # h'w for each listed hw: the same n-gram without its first word, one order down
    rows = rows_of(keys, k + 1, V)[:, 1:]
    lower = row_keys(rows, keys, V) if k > 1 else rows[:, 0]
    found = trie.find(keys[k - 1], lower)
    if (found < 0).any():
        raise SeqlmError("the union of the models is not suffix-closed: cannot renormalise")
    p_lower = np.bincount(parent, weights=np.exp(logp[k - 1][found]), minlength=len(keys[k - 1]))
    num, den = np.clip(1.0 - p_here, 1e-12, None), np.clip(1.0 - p_lower, 1e-12, None)
    return np.where(np.bincount(parent, minlength=len(keys[k - 1])) > 0,
                    np.log(num) - np.log(den), 0.0)


def static_mix(models: list[NgramModel], weights) -> NgramModel:
    """One backoff model equal to Σ λ_k p_k wherever it lists the n-gram (module docstring)."""
    weights = np.asarray(weights, dtype=np.float64)
    check_models(models, weights)
    first = models[0]
    maps = [np.array([first.vocab.index[t] for t in m.vocab.tokens]) for m in models]
    inverse = [np.argsort(f) for f in maps]  # first model's id -> the model's id
    keys, V = union_keys(models, maps), first.V
    logp = []
    for k in range(1, len(keys) + 1):
        rows = rows_of(keys, k, V)
        parts = np.stack([component_logp(m, rows, inv) for m, inv in zip(models, inverse,
                                                                           strict=True)])
        with np.errstate(divide="ignore"):
            logp.append(np.logaddexp.reduce(parts + np.log(weights)[:, None], axis=0))
    backoff = [mixed_backoffs(keys, logp, k, V) for k in range(1, len(keys))]
    return NgramModel(vocab=first.vocab, unit=first.unit, order=len(keys), smoothing="mix",
                      form="backoff", keys=keys, logp=logp, backoff=backoff,
                      info={"counts": [len(k) for k in keys], "weights": weights.tolist()})

"""KenLM's single-precision arithmetic, for numbers that equal `lmplz` + `query` to the digit.

KenLM keeps every probability and backoff as a C `float` (float32) log10 value: `lmplz`
computes discounts, gammas and interpolated probabilities in `float`, takes `log10` of each
and prints them; `query` adds a token's float probability and its float backoffs, sums each
sentence in a `float`, and only the corpus totals in `double`. seqlm's default estimate is in
double precision, so its perplexities including OOVs differ from KenLM's in the fourth decimal
on Tiny Shakespeare (every OOV shares one rounded p(`<unk>`), so that rounding does not
average out). `precision="kenlm"` (`NgramConfig.precision`) follows KenLM's steps instead:

- discounts (lmplz `adjust_counts.cc`): y = float(t1) / float(t1 + 2.0 t2) and
  D_j = j - (j + 1) y t_{j+1} / t_j, each operation in float;
- per context (`initial_probabilities.cc`): den = float(sum of adjusted counts),
  gamma = (D1 n1 + D2 n2 + D3+ n3+) / den and u(hw) = (a(hw) - D(a(hw))) / den in float;
- interpolation (`interpolate.cc`): p = u + gamma * p_lower in float, from
  p_lower = float(1.0 / float(|V|)) below the unigrams; stored as float(log10 p) and
  float(log10 gamma);
- scoring (`ngram_query.hh`): float(log10 p) plus each float backoff in turn, a float sum per
  sentence, a double sum over sentences.

The tables are stored as nats (float64) like every model's; each is exactly a float32 log10
value times ln 10, so rounding it back to float32 log10 recovers KenLM's number. `log10` of a
float follows C's float `log10` step by step (`log10_32`). Leaves out: pruning, which lmplz
also does in float.
"""

import numpy as np

from seqlm.metrics import LN10
from seqlm.ngram.counts import NgramCounts
from seqlm.ngram.discounts import Discounts, counts_of_counts

F32 = np.float32


def discounts32(adjusted: np.ndarray, double: Discounts) -> np.ndarray:
    """(4,) float32 discounts by capped adjusted count (index 0 discounts nothing), computed
    as lmplz does; fallback or single-discount values are rounded from `double`."""
    t = [int(x) for x in counts_of_counts(adjusted)]
    if double.fallback or double.d1 == double.d2 == double.d3 or min(t[:3]) == 0:
        return np.array([0.0, *double.as_tuple()], dtype=F32)
    y = F32(t[0]) / F32(t[0] + 2.0 * t[1])
    d = [F32(j) - F32(j + 1) * y * F32(t[j]) / F32(t[j - 1]) for j in (1, 2, 3)]
    return np.array([0.0, *d], dtype=F32)


# log10 of a float the way C's float log10 (fdlibm's, which glibc 2.36 ships) computes it:
# x = 2**k m with m in [0.5, 1) or [1, 2), log10 x = k log10(2) + log10(e) ln(m), every step in
# float, log10(2) split into a high part with trailing zero bits (k * hi is exact) and the rest.
INV_LN10 = F32(4.3429449201e-01)  # float(1 / ln 10)
LOG10_2_HI = F32(3.0102920532e-01)  # log10(2) to 17 bits
LOG10_2_LO = F32(7.9034151668e-07)  # float(log10(2) - LOG10_2_HI)


def log10_32(x: np.ndarray) -> np.ndarray:
    """float log10 of float32 values (P,), -inf at 0, as lmplz's `log10(float)` gives it.

    ln(m) is float(ln m) computed in double (correctly rounded); glibc's logf is within 0.82
    ulp, so a few values in a thousand may differ from glibc's in the last bit."""
    x = np.asarray(x, dtype=F32)
    out = np.full(len(x), -np.inf, dtype=F32)
    pos = np.flatnonzero(x > 0)
    v = x[pos]
    tiny = v < F32(2.0**-126)  # subnormal: scale into the normal range first
    v = np.where(tiny, v * F32(2.0**25), v).astype(F32)
    bits = v.view(np.int32)
    k = (bits >> 23) - 127 - 25 * tiny
    below = (k < 0).astype(np.int32)  # then m in [0.5, 1) instead of [1, 2)
    m = ((bits & 0x007FFFFF) | ((0x7F - below) << 23)).astype(np.int32).view(F32)
    y = (k + below).astype(F32)
    ln_m = np.log(m.astype(np.float64)).astype(F32)
    out[pos] = (y * LOG10_2_LO + INV_LN10 * ln_m) + y * LOG10_2_HI
    return out


def float_totals(c: NgramCounts, k: int, values: np.ndarray) -> np.ndarray:
    """float(sum over x of values(hx)) per order-(k-1) context: integer sums, rounded once."""
    return np.bincount(c.parents(k), weights=values, minlength=len(c.keys[k - 2])).astype(F32)


def gammas32(counts_by_class: list[np.ndarray], d: np.ndarray, den: np.ndarray) -> np.ndarray:
    """((D1 n1 + D2 n2) + D3+ n3+) / den, in float and in that order."""
    g = np.zeros(len(den), dtype=F32)
    for j in (1, 2, 3):
        g = g + d[j] * counts_by_class[j - 1].astype(F32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, g / den, F32(1.0)).astype(F32)


def interpolate32(c: NgramCounts, adjusted: list[np.ndarray], discounts: list[np.ndarray],
                  bos_id: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Float32 log10 probabilities of every n-gram and float32 log10 gammas of every context,
    as lmplz computes them (see the module docstring)."""
    lower = np.full(1, F32(1.0 / float(F32(c.V - 1))), dtype=F32)  # uniform, <s> excluded
    parent = np.zeros(c.V, dtype=np.int64)
    suffix = np.zeros(c.V, dtype=np.int64)
    probs10, backoffs10 = [], []
    for k in range(1, c.order + 1):
        a = adjusted[k - 1]
        capped = np.minimum(a, 3)
        if k == 1:
            classes = [np.array([np.sum(capped == j)]) for j in (1, 2, 3)]
            den = np.array([a.sum()]).astype(F32)
        else:
            parent, suffix = c.parents(k), c.suffix[k - 1]
            classes = [float_totals(c, k, (capped == j).astype(float)) for j in (1, 2, 3)]
            den = float_totals(c, k, a.astype(float))
        gamma = gammas32(classes, discounts[k - 1], den)
        u = (a.astype(F32) - discounts[k - 1][capped]) / den[parent]
        p = u + gamma[parent] * lower[suffix]
        if k == 1:
            p[bos_id] = 0.0  # <s> is never predicted
        else:
            backoffs10.append(log10_32(gamma))
        probs10.append(log10_32(p))
        lower = p
    backoffs10 = [np.where(b == 0, F32(0.0), b) for b in backoffs10]
    return probs10, backoffs10


def nats_of(log10_32_tables: list[np.ndarray]) -> list[np.ndarray]:
    """Float32 log10 tables as float64 nats (exactly recoverable, see `to_log10_32`)."""
    return [t.astype(np.float64) * LN10 for t in log10_32_tables]


def to_log10_32(nats: np.ndarray) -> np.ndarray:
    """Nats back to float32 log10; exact for tables made by `nats_of`."""
    return (nats / LN10).astype(F32)


def token_log10_32(model, ids: np.ndarray, oov: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Float32 log10 p of the tokens at `pos` (P,), as KenLM's `FullScore`: the longest held
    n-gram's probability, then the backoff of each longer context in turn, all in float."""
    found = model.lookup(ids, oov)
    out = to_log10_32(model.logp[0][ids[pos]])
    matched = np.ones(len(pos), dtype=np.int64)
    for k in range(2, model.order + 1):
        f = found[k - 1][pos]
        hit = f >= 0
        out[hit] = to_log10_32(model.logp[k - 1][f[hit]])
        matched[hit] = k
    for j in range(1, model.order):  # contexts of length j, shortest first
        ctx = np.where(pos > 0, found[j - 1][pos - 1], -1)
        use = np.flatnonzero((ctx >= 0) & (j >= matched))
        out[use] = out[use] + to_log10_32(model.backoff[j - 1][ctx[use]])
    return out


def sentence_sums32(values: np.ndarray, sentence: np.ndarray, n_sentences: int) -> np.ndarray:
    """Float32 sums of `values` (P,) per sentence (`sentence`: (P,) nondecreasing ids), each
    added left to right as `query` does: one vectorised step per position in a sentence."""
    total = np.zeros(n_sentences, dtype=F32)
    if not len(values):
        return total
    first = np.searchsorted(sentence, np.arange(n_sentences))
    offset = np.arange(len(values)) - first[sentence]
    order = np.argsort(offset, kind="stable")
    bounds = np.searchsorted(offset[order], np.arange(int(offset.max()) + 2))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        step = order[lo:hi]  # the j-th token of every sentence that has one
        total[sentence[step]] = total[sentence[step]] + values[step]
    return total


def kenlm_totals(model, stream) -> tuple[float, float]:
    """(log10 total, log10 total of the OOVs) of a token stream, exactly as `query` sums."""
    pos = stream.scored()
    values = token_log10_32(model, stream.ids, stream.oov, pos)
    sentence = np.searchsorted(stream.starts, pos, side="right") - 1
    totals = sentence_sums32(values, sentence, stream.n_sentences)
    return float(totals.astype(np.float64).sum()), float(values[stream.oov[pos]].astype(
        np.float64).sum())

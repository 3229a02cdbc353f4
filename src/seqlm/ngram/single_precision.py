"""KenLM's single-precision arithmetic, for numbers that equal `lmplz` + `query` bit for bit.

KenLM keeps every probability and backoff as a C `float` (float32) log10 value: `lmplz`
computes discounts, gammas and interpolated probabilities in `float`, takes `log10f` of each
and prints them; `query` adds a token's float probability and its float backoffs, sums each
sentence in a `float`, and only the corpus totals in `double`. `precision="kenlm"`
(`NgramConfig.precision`) follows those steps (`Float32Arithmetic`, used by
`seqlm.ngram.estimate`):

- discounts (lmplz `adjust_counts.cc`): y = float(t1) / float(t1 + 2.0 t2) and
  D_j = j - (j + 1) y t_{j+1} / t_j, each operation in float;
- per context (`initial_probabilities.cc`): den = float(sum of adjusted counts);
  gamma = ((D1 n1 + D2 n2) + D3+ n3+ + float(pruned mass)) / den and
  u(hw) = (float(a(hw)) - D(a(hw))) / den, in float, n_j counting the kept extensions;
- interpolation (`interpolate.cc`): p = u + gamma * p_lower in float, from
  p_lower = float(1.0 / float(|V|)) below the unigrams; stored as min(0, log10f(p)) and
  log10f(gamma); `<s>` gets p = 1 (so lmplz writes log10 0 for it);
- scoring (`ngram_query.hh`): float(log10 p) plus each float backoff in turn, a float sum per
  sentence, a double sum over sentences.

`log10_32` is glibc 2.36's `log10f` step for step, so every value equals what lmplz built
against glibc prints: fdlibm's reduction (`e_log10f.c`: x = 2^k m, log10 x = k log10(2)_lo +
log10(e) logf(m) + k log10(2)_hi, in float) around glibc's `logf` (`e_logf.c`, from ARM's
optimized-routines: m = 2^j z with z in one of 16 subintervals of [0x3f330000, 2 x that),
log z = log1p(z/c - 1) + log c by a degree-4 polynomial in double, rounded to float once).
The 16 (1/c, log c) pairs, ln 2 and the polynomial coefficients are the exact double
constants of glibc's `e_logf_data.c`. It agrees with the C library's `log10f` on every value
tested (`tests/ngram/test_ngram_kenlm_float.py`). The tables of a model are stored as nats
(float64), each exactly a float32 log10 value times ln 10.
"""

import numpy as np

from seqlm.metrics import LN10
from seqlm.ngram.discounts import Discounts

F32 = np.float32
_H = float.fromhex

# glibc e_logf_data.c: (1/c, log c) for the 16 subintervals, ln 2, the polynomial A[0..2].
_INVC = np.array([_H(v) for v in (
    "0x1.661ec79f8f3bep+0", "0x1.571ed4aaf883dp+0", "0x1.49539f0f010bp+0", "0x1.3c995b0b80385p+0",
    "0x1.30d190c8864a5p+0", "0x1.25e227b0b8eap+0", "0x1.1bb4a4a1a343fp+0", "0x1.12358f08ae5bap+0",
    "0x1.0953f419900a7p+0", "0x1p+0", "0x1.e608cfd9a47acp-1", "0x1.ca4b31f026aap-1",
    "0x1.b2036576afce6p-1", "0x1.9c2d163a1aa2dp-1", "0x1.886e6037841edp-1",
    "0x1.767dcf5534862p-1")])
_LOGC = np.array([_H(v) for v in (
    "-0x1.57bf7808caadep-2", "-0x1.2bef0a7c06ddbp-2", "-0x1.01eae7f513a67p-2",
    "-0x1.b31d8a68224e9p-3", "-0x1.6574f0ac07758p-3", "-0x1.1aa2bc79c81p-3",
    "-0x1.a4e76ce8c0e5ep-4", "-0x1.1973c5a611cccp-4", "-0x1.252f438e10c1ep-5", "0x0p+0",
    "0x1.aa5aa5df25984p-5", "0x1.c5e53aa362eb4p-4", "0x1.526e57720db08p-3",
    "0x1.bc2860d22477p-3", "0x1.1058bc8a07ee1p-2", "0x1.4043057b6ee09p-2")])
_LN2 = _H("0x1.62e42fefa39efp-1")
_A0, _A1, _A2 = (_H("-0x1.00ea348b88334p-2"), _H("0x1.5575b0be00b6ap-2"),
                 _H("-0x1.ffffef20a4123p-2"))
# fdlibm e_log10f.c: float(1 / ln 10), log10(2) to 17 bits, and the rest of log10(2).
INV_LN10, LOG10_2_HI, LOG10_2_LO = F32(4.3429449201e-01), F32(3.0102920532e-01), F32(
    7.9034151668e-07)


def logf(m: np.ndarray) -> np.ndarray:
    """glibc's float `logf` of normal positive float32 values (P,) -> float32 (P,)."""
    ix = m.view(np.uint32).astype(np.int64)
    tmp = ix - 0x3F330000
    i = (tmp & 0xFFFFFFFF) >> 19 & 15
    k = tmp >> 23  # arithmetic shift: 2^k is the power of two taken out
    z = ((ix - (tmp & 0xFF800000)) & 0xFFFFFFFF).astype(np.uint32).view(F32).astype(np.float64)
    r = z * _INVC[i] - 1.0
    y0 = _LOGC[i] + k * _LN2
    r2 = r * r
    y = _A1 * r + _A2
    y = _A0 * r2 + y
    return (y * r2 + (y0 + r)).astype(F32)


def log10_32(x: np.ndarray) -> np.ndarray:
    """float log10 of float32 values (P,), -inf at 0, as glibc's `log10f` gives it."""
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
    out[pos] = (y * LOG10_2_LO + INV_LN10 * logf(m)) + y * LOG10_2_HI
    return out


def discounts32(t: tuple[int, ...], double: Discounts) -> np.ndarray:
    """(4,) float32 discounts by capped adjusted count (index 0 discounts nothing), computed
    as lmplz does from the counts of counts t1..t4; fallback or single-discount values are
    rounded from `double`."""
    if double.fallback or double.d1 == double.d2 == double.d3 or min(t[:3]) == 0:
        return np.array([0.0, *double.as_tuple()], dtype=F32)
    y = F32(t[0]) / F32(t[0] + 2.0 * t[1])
    d = [F32(j) - F32(j + 1) * y * F32(t[j]) / F32(t[j - 1]) for j in (1, 2, 3)]
    return np.array([0.0, *d], dtype=F32)


class Float32Arithmetic:
    """lmplz's float operations, in the order it does them (see the module docstring)."""

    name = "kenlm"
    dtype = F32

    def discount_table(self, t: tuple[int, ...], double: Discounts) -> np.ndarray:
        return discounts32(t, double)

    def unigrams(self, a: np.ndarray, table: np.ndarray, V: int, bos: int) -> np.ndarray:
        capped = np.minimum(a, 3)
        classes = [np.array([np.count_nonzero(capped == j)], dtype=F32) for j in (1, 2, 3)]
        den = np.array([a.sum()]).astype(F32)
        gamma = self.gammas(classes, table, np.zeros(1, dtype=F32), den)[0]
        uniform = F32(1.0 / float(F32(V - 1)))  # <s> excluded
        p = (a.astype(F32) - table[capped]) / den[0] + gamma * uniform
        p[bos] = 1.0  # lmplz: <s> has probability 1, never predicted
        return p

    def contexts(self, a: np.ndarray, keep: np.ndarray, table: np.ndarray, ctx: np.ndarray,
                 n: int) -> tuple[np.ndarray, np.ndarray]:
        """(den, gamma) of the n contexts of a block; ctx (M,) numbers each row's context."""
        capped = np.minimum(a, 3)
        classes = [np.bincount(ctx, weights=(capped == j) & keep, minlength=n).astype(F32)
                   for j in (1, 2, 3)]
        den = np.bincount(ctx, weights=a, minlength=n).astype(F32)  # integer sums, rounded once
        pruned = np.bincount(ctx, weights=np.where(keep, 0, a), minlength=n).astype(F32)
        return den, self.gammas(classes, table, pruned, den)

    @staticmethod
    def gammas(classes: list[np.ndarray], table: np.ndarray, pruned: np.ndarray,
               den: np.ndarray) -> np.ndarray:
        g = np.zeros(len(den), dtype=F32)
        for j in (1, 2, 3):
            g = g + table[j] * classes[j - 1]
        return (g + pruned) / den

    def probs(self, a: np.ndarray, table: np.ndarray, den: np.ndarray, gamma: np.ndarray,
              lower: np.ndarray) -> np.ndarray:
        """p = (float(a) - D(a)) / den + gamma * p_lower, per row, in float."""
        return (a.astype(F32) - table[np.minimum(a, 3)]) / den + gamma * lower

    def log_probs(self, p: np.ndarray) -> np.ndarray:
        return np.minimum(log10_32(p), F32(0.0)).astype(np.float64) * LN10

    def log_backoffs(self, gamma: np.ndarray) -> np.ndarray:
        b = log10_32(gamma)
        return np.where(b == 0, F32(0.0), b).astype(np.float64) * LN10


def nats_of(log10_32_tables: list[np.ndarray]) -> list[np.ndarray]:
    """Float32 log10 tables as float64 nats (exactly recoverable, see `to_log10_32`)."""
    return [t.astype(np.float64) * LN10 for t in log10_32_tables]


def to_log10_32(nats: np.ndarray) -> np.ndarray:
    """Nats back to float32 log10; exact for tables made by `nats_of`."""
    return (np.asarray(nats) / LN10).astype(F32)


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
    sentence = np.searchsorted(stream.starts, pos, side="right") - 1
    values = token_log10_32(model, stream.ids, stream.oov, pos)  # compiled: kenlm_chunk
    totals = sentence_sums32(values, sentence, stream.n_sentences)
    return float(totals.astype(np.float64).sum()), float(values[stream.oov[pos]].astype(
        np.float64).sum())


def float32_tables(model) -> tuple:
    """(prob, prob_at, back, back_at): every order's float32 log10 probabilities and backoffs
    end to end, and where each order starts; converted once per model and kept on it
    (`NgramModel.float32_tables`) for the compiled scorer's tables (`compiled_tables`)."""
    if model.float32_tables is None:
        prob = [to_log10_32(t) for t in model.logp]
        back = [to_log10_32(t) for t in model.backoff] or [np.zeros(0, dtype=F32)]
        model.float32_tables = (
            np.concatenate(prob), np.cumsum([0] + [len(t) for t in prob[:-1]]),
            np.concatenate(back), np.cumsum([0] + [len(t) for t in back[:-1]]))
    return model.float32_tables

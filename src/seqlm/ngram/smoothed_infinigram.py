"""The smoothed ∞-gram: every suffix length of the context interpolated, on the ∞-gram's
suffix index. PPM* (Cleary and Teahan 1997, "Unbounded length contexts for PPM", The Computer
Journal 40) predicts from unbounded contexts with escapes to shorter ones; here each step is
the Pitman-Yor language model's (Teh 2006, "A hierarchical Bayesian language model based on
Pitman-Yor processes", ACL, eq. 5 with one table per token type: interpolated Kneser-Ney
with modified KN's three discounts, Chen and Goodman 1998, and a strength θ):

    p_L(w) = (max(c_L(w) - D(c_L(w)), 0) + (θ + D1 N1_L + D2 N2_L + D3 N3+_L) p_L'(w)) / (θ + c⁺_L)

over the *levels* of the context (`seqlm.ngram.suffix_levels`): suffix lengths L whose
occurrences followed by a token (c⁺_L of them) differ from the next shorter level L', each
counted once (a 300-byte match that occurs once is one level, not 300 equal ones). c_L(w):
how often w followed the suffix; N1, N2, N3+: how many distinct tokens followed it once,
twice, three times or more (runs of the suffix array). Below level 0 (the corpus's token
counts) is the uniform distribution over every id but the document separator. D(0) = 0,
D(c) = D_min(c,3) with 0 ≤ D_c ≤ c and θ ≥ 0, so every level sums to one. θ lets a level
seen a few times escape more than its discounts alone allow (measured: without it, each added
level made the model worse). The parameters (D1, D2, D3, θ) are one set per bucket of c⁺
(floor of log2, `COUNT_BUCKETS`), fitted on a development text (`fit`: coordinate descent,
golden section on each), as a mixture fits its weights there.

`token_probs` runs the compiled kernels; `distribution` is a separate NumPy path over the same
index (every next-token count of every level, the whole distribution), which the tests hold
against the kernels and against brute-force counting. Leaves out: Kneser-Ney's continuation
counts for the shorter levels (they need each suffix's distinct left extensions), the
Pitman-Yor model's sampled seating (one table per type here), caching levels across calls.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.infinigram import InfiniGram

COUNT_BUCKETS = 16  # parameters per floor(log2 c⁺): 1, 2-3, 4-7, ..., 32768+
START = (0.5, 1.0, 1.5, 0.0)  # D1, D2, D3, θ before fitting
UPPER = (1.0, 2.0, 3.0, 50.0)  # D_c ≤ c; θ searched up to 50
ROUNDS, SECTION_STEPS = 2, 12  # coordinate descent: rounds over the parameters, golden steps


@dataclass(frozen=True)
class Levels:
    """The levels of every token of a text: offsets (T+1,) into rows (6, M) of L, the count
    of the token that came next, c⁺, N1, N2, N3+."""

    offsets: np.ndarray
    rows: np.ndarray

    @property
    def counts_per_token(self) -> np.ndarray:
        return np.diff(self.offsets)


class SmoothedInfiniGram:
    """Smoothed unbounded-order probabilities from an ∞-gram index (module docstring)."""

    def __init__(self, model: InfiniGram, params: np.ndarray | None = None):
        self.model = model
        self.params = check_params(np.tile(START, (COUNT_BUCKETS, 1)) if params is None
                                   else params)
        index = model.index
        self.sep = model.sep
        native = index.tokens.dtype.newbyteorder("=")
        self.tokens = np.ascontiguousarray(index.tokens, dtype=native)
        self.sa = np.asarray(index.sa)
        self.buckets = np.asarray(index.buckets, dtype=np.int64)
        self.prefix = index.prefix
        counts = model.unigrams.copy()
        counts[self.sep] = 0
        self.unigram_counts = counts
        self.unigram_stats = np.concatenate([counts, [counts.sum(), (counts == 1).sum(),
                                                      (counts == 2).sum(), (counts >= 3).sum()]])
        self.base = 1.0 / (index.info.n_ids - 1)  # uniform over every id but the separator

    def levels(self, ids: np.ndarray) -> Levels:
        """The levels of every token of `ids` (T,) given all the tokens before it."""
        from seqlm.ngram.suffix_levels import text_levels

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self.unigram_counts)
                         or (ids == self.sep).any()):
            raise SeqlmError("token ids outside the index's vocabulary (or its document "
                             "separator): encode the text with the index's own `encode`")
        offsets, rows = text_levels(self.tokens, self.sa, self.buckets, self.prefix, self.sep,
                                    ids, self.unigram_stats.astype(np.int64))
        return Levels(offsets, rows)

    def token_probs(self, ids: np.ndarray | Levels, params: np.ndarray | None = None
                    ) -> np.ndarray:
        """P of every token of `ids` (or of levels computed before) given all before it (T,)."""
        from seqlm.ngram.suffix_levels import interpolate

        got = ids if isinstance(ids, Levels) else self.levels(ids)
        params = self.params if params is None else check_params(params)
        return interpolate(got.offsets, got.rows, params, self.base)

    def fit(self, ids: np.ndarray | Levels) -> float:
        """Fit the parameters of every c⁺ bucket that `ids` (a development text, or its
        levels) uses to its nats per token, set them on this model, and return those nats."""
        from seqlm.ngram.suffix_levels import count_bucket

        got = ids if isinstance(ids, Levels) else self.levels(ids)
        params = np.tile(START, (COUNT_BUCKETS, 1))
        used = np.unique([count_bucket(int(c), COUNT_BUCKETS) for c in np.unique(got.rows[2])])

        def nats(b: int, k: int, x: float) -> float:
            trial = params.copy()
            trial[b, k] = x
            return float(-np.log(self.token_probs(got, trial)).mean())

        for _ in range(ROUNDS):
            for b in used.tolist():
                for k, top in enumerate(UPPER):
                    params[b, k] = golden_section(lambda x, b=b, k=k: nats(b, k, x), 0.0, top)
        self.params = check_params(params)
        return float(-np.log(self.token_probs(got)).mean())

    def distribution(self, context) -> np.ndarray:
        """P(· | context) over every id (V,), the separator's 0: each level's whole next-token
        counts, from NumPy searches of the index (not the kernels)."""
        ctx = self.model.as_ids(context)
        p = np.full(len(self.unigram_counts), self.base)
        p[self.sep] = 0.0
        for counts in self.level_counts(ctx):
            total = int(counts.sum())
            d1, d2, d3, theta = self.params[min(total.bit_length() - 1, COUNT_BUCKETS - 1)]
            d = np.choose(np.minimum(counts, 3), [0.0, d1, d2, d3])
            escape = theta + d1 * (counts == 1).sum() + d2 * (counts == 2).sum() \
                + d3 * (counts >= 3).sum()
            p = (np.maximum(counts - d, 0.0) + escape * p) / (theta + total)
        return p

    def level_counts(self, ctx: np.ndarray) -> list[np.ndarray]:
        """The next-token counts (V,) of every level of `ctx`, shortest first."""
        out, last = [self.unigram_counts], int(self.unigram_counts.sum())
        index = self.model.index
        for L in range(1, len(ctx) + 1):
            lo, hi = index.find_range(index.pattern(ctx[len(ctx) - L:]))
            nxt = self.tokens[index.sa[lo:hi].astype(np.int64) + L].astype(np.int64)
            counts = np.bincount(nxt, minlength=len(self.unigram_counts))
            counts[self.sep] = 0
            total = int(counts.sum())
            if total == 0:
                break
            if total != last:
                out.append(counts)
                last = total
        return out


def check_params(params) -> np.ndarray:
    """(COUNT_BUCKETS, 4) rows of D1, D2, D3, θ with 0 ≤ D_c ≤ c and θ ≥ 0."""
    p = np.asarray(params, dtype=np.float64)
    ok = p.shape == (COUNT_BUCKETS, 4) and bool(np.isfinite(p).all() and (p >= 0).all())
    if not ok or (p[:, :3] > np.array([1.0, 2.0, 3.0])).any():
        raise SeqlmError(f"smoothed ∞-gram parameters must be {COUNT_BUCKETS} rows of D1, D2, "
                         "D3, θ with 0 <= D_c <= c and θ >= 0: fit them on a development text "
                         "(SmoothedInfiniGram.fit)")
    return np.ascontiguousarray(p)


def golden_section(f, lo: float, hi: float, steps: int = SECTION_STEPS) -> float:
    """The x in [lo, hi] that minimises a unimodal f, to (hi - lo) · 0.618^steps."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2.0


class SmoothedInfiniGramScorer:
    """The smoothed ∞-gram as a mixture component (`seqlm.ngram.mixture`): `tune` fits its
    parameters on the development text before the mixture's EM (once per dev text); never
    p = 0. The levels of the last two texts are kept (a mixture scores its dev and test
    texts, and the levels are the expensive part)."""

    def __init__(self, model: SmoothedInfiniGram, name: str = "smoothed ∞-gram"):
        self.model, self.name = model, name
        self.dev_nats: float | None = None
        self.tuned_on: str | None = None
        self.kept: dict[str, Levels] = {}

    @property
    def unit(self) -> str:
        return self.model.model.unit

    def levels(self, text: str) -> Levels:
        if text not in self.kept:
            if len(self.kept) >= 2:
                self.kept.pop(next(iter(self.kept)))
            self.kept[text] = self.model.levels(self.model.model.encode(text, line_end=True))
        return self.kept[text]

    def tune(self, dev_text: str) -> None:
        if self.tuned_on != dev_text:
            self.dev_nats = self.model.fit(self.levels(dev_text))
            self.tuned_on = dev_text

    def token_logprobs(self, text: str) -> np.ndarray:
        return np.log(self.model.token_probs(self.levels(text)))

    def vocabulary(self) -> set[str] | None:
        vocab = self.model.model.vocab
        return None if vocab is None else set(vocab[3:]) - {"\n"}

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

With `counts="continuation"` (the default) every level below the longest counts, instead of
c_L(w), in how many distinct left contexts w followed the suffix (Kneser-Ney's continuation
counts, `seqlm.ngram.continuation_counts`), with parameters of its own per bucket of their
total; the longest level keeps its raw counts (`counts="raw"`: every level raw, the model
before). Measured on held-out python-stdlib files: 1.3563 nats per byte raw, 1.1914 with
continuation counts (docs/ngram.md). `params` is (2, COUNT_BUCKETS, 4): the continuation
levels' (unused when raw), then the raw levels'.

`token_probs` runs the compiled kernels; `distribution` is a separate NumPy path over the same
index (every next-token count of every level, the whole distribution), which the tests hold
against the kernels and against brute-force counting. Leaves out: the Pitman-Yor model's
sampled seating (one table per type here), caching levels across calls.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.infinigram import InfiniGram

COUNT_BUCKETS = 16  # parameters per floor(log2 c⁺): 1, 2-3, 4-7, ..., 32768+
START = (0.5, 1.0, 1.5, 0.0)  # D1, D2, D3, θ before fitting
UPPER = (1.0, 2.0, 3.0, 50.0)  # D_c ≤ c; θ searched up to 50
ROUNDS, SECTION_STEPS = 2, 12  # coordinate descent: rounds over the parameters, golden steps
COUNTS = ("continuation", "raw")  # what the levels below the longest count
CAP = 256  # ranges of the suffix array up to this many suffixes are scanned for every token


@dataclass(frozen=True)
class Levels:
    """The levels of every token of a text: offsets (T+1,) into rows (8, M) of L, the count
    of the token that came next, c⁺, N1, N2, N3+, and the suffix's range [lo, hi) of the
    suffix array; with continuation counts, rows (5, M) of k of the token that came next, k⁺,
    M1, M2, M3+."""

    offsets: np.ndarray
    rows: np.ndarray
    continuation: np.ndarray | None = None

    @property
    def counts_per_token(self) -> np.ndarray:
        return np.diff(self.offsets)


class SmoothedInfiniGram:
    """Smoothed unbounded-order probabilities from an ∞-gram index (module docstring)."""

    def __init__(self, model: InfiniGram, params: np.ndarray | None = None,
                 counts: str = "continuation"):
        if counts not in COUNTS:
            raise SeqlmError(f"unknown counts {counts!r} for the smoothed ∞-gram: choose one "
                             f"of {', '.join(COUNTS)}")
        self.model, self.counts = model, counts
        self.params = check_params(start_params() if params is None else params)
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
        if self.counts == "raw":
            return Levels(offsets, rows)
        from seqlm.ngram.continuation_counts import continuation_rows

        return Levels(offsets, rows, continuation_rows(
            self.tokens, self.sa, self.sep, len(self.unigram_counts), ids, offsets, rows, CAP))

    def token_probs(self, ids: np.ndarray | Levels, params: np.ndarray | None = None
                    ) -> np.ndarray:
        """P of every token of `ids` (or of levels computed before) given all before it (T,)."""
        from seqlm.ngram.continuation_counts import interpolate_continuation
        from seqlm.ngram.suffix_levels import interpolate

        got = ids if isinstance(ids, Levels) else self.levels(ids)
        params = self.params if params is None else check_params(params)
        if got.continuation is None:
            return interpolate(got.offsets, got.rows, params[1], self.base)
        return interpolate_continuation(got.offsets, got.rows, got.continuation, params,
                                        self.base, True)

    def fit(self, ids: np.ndarray | Levels) -> float:
        """Fit the parameters of every count bucket that `ids` (a development text, or its
        levels) uses to its nats per token, set them on this model, and return those nats.
        Each bucket's search scores only the tokens with a level in that bucket (the others'
        probabilities do not depend on it)."""
        got = ids if isinstance(ids, Levels) else self.levels(ids)
        params = start_params()
        which = level_buckets(got)
        per_token = got.counts_per_token

        def nats(part: Levels, s: int, b: int, k: int, x: float) -> float:
            trial = params.copy()
            trial[s, b, k] = x
            return float(-np.log(self.token_probs(part, trial)).sum())

        for _ in range(ROUNDS):
            for u in np.unique(which).tolist():
                s, b = divmod(u, COUNT_BUCKETS)
                part = subset(got, np.add.reduceat(which == u, got.offsets[:-1])
                              .astype(bool) & (per_token > 0))
                for k, top in enumerate(UPPER):
                    params[s, b, k] = golden_section(
                        lambda x, s=s, b=b, k=k, part=part: nats(part, s, b, k, x), 0.0, top)
        self.params = check_params(params)
        return float(-np.log(self.token_probs(got)).mean())

    def distribution(self, context) -> np.ndarray:
        """P(· | context) over every id (V,), the separator's 0: each level's whole next-token
        counts (continuation counts below the longest level, when the model uses them), from
        NumPy searches of the index (not the kernels)."""
        ctx = self.model.as_ids(context)
        p = np.full(len(self.unigram_counts), self.base)
        p[self.sep] = 0.0
        levels = self.level_counts(ctx)
        for j, (L, counts, positions) in enumerate(levels):
            table = 1
            if self.counts == "continuation" and j + 1 < len(levels):
                counts, table = self.left_contexts(positions, L, levels[j + 1][0] - L), 0
            total = int(counts.sum())
            d1, d2, d3, theta = self.params[table, min(total.bit_length() - 1,
                                                       COUNT_BUCKETS - 1)]
            d = np.choose(np.minimum(counts, 3), [0.0, d1, d2, d3])
            escape = theta + d1 * (counts == 1).sum() + d2 * (counts == 2).sum() \
                + d3 * (counts >= 3).sum()
            p = (np.maximum(counts - d, 0.0) + escape * p) / (theta + total)
        return p

    def level_counts(self, ctx: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Every level of `ctx`, shortest first: its length L, next-token counts (V,) and the
        corpus positions where its suffix occurs."""
        index = self.model.index
        everywhere = np.arange(len(self.tokens), dtype=np.int64)
        out, last = [(0, self.unigram_counts, everywhere)], int(self.unigram_counts.sum())
        for L in range(1, len(ctx) + 1):
            lo, hi = index.find_range(index.pattern(ctx[len(ctx) - L:]))
            positions = index.sa[lo:hi].astype(np.int64)
            counts = np.bincount(self.tokens[positions + L].astype(np.int64),
                                 minlength=len(self.unigram_counts))
            counts[self.sep] = 0
            total = int(counts.sum())
            if total == 0:
                break
            if total != last:
                out.append((L, counts, positions))
                last = total
        return out

    def left_contexts(self, positions: np.ndarray, L: int, shift: int) -> np.ndarray:
        """Continuation counts (V,): per next token, the distinct tokens `shift` before the
        occurrences (a document start counting as the separator)."""
        nxt = self.tokens[positions + L].astype(np.int64)
        keep = nxt != self.sep
        at = positions[keep] - shift
        left = np.where(at >= 0, self.tokens[np.maximum(at, 0)].astype(np.int64), self.sep)
        pairs = np.unique(nxt[keep] * len(self.unigram_counts) + left)
        return np.bincount(pairs // len(self.unigram_counts), minlength=len(self.unigram_counts))


def start_params() -> np.ndarray:
    return np.tile(START, (2, COUNT_BUCKETS, 1)).astype(np.float64)


def level_buckets(levels: Levels) -> np.ndarray:
    """table · COUNT_BUCKETS + bucket of the parameters every level uses (M,): table 0 for
    the continuation levels (bucket of k⁺: all but each token's longest), 1 for the raw ones
    (bucket of c⁺), as the kernels choose them."""
    totals, table = levels.rows[2].copy(), np.ones(levels.rows.shape[1], dtype=np.int64)
    if levels.continuation is not None:
        below = np.ones(len(totals), dtype=bool)
        below[levels.offsets[1:][np.diff(levels.offsets) > 0] - 1] = False  # each longest
        totals[below], table[below] = levels.continuation[1][below], 0
    bucket = np.minimum(np.frexp(np.maximum(totals, 1))[1] - 1, COUNT_BUCKETS - 1)  # log2
    return table * COUNT_BUCKETS + bucket


def subset(levels: Levels, tokens: np.ndarray) -> Levels:
    """The levels of the tokens where `tokens` (T,) is True."""
    keep = np.repeat(tokens, levels.counts_per_token)
    offsets = np.concatenate([[0], np.cumsum(levels.counts_per_token[tokens])])
    cont = None if levels.continuation is None else levels.continuation[:, keep]
    return Levels(offsets, np.ascontiguousarray(levels.rows[:, keep]),
                  None if cont is None else np.ascontiguousarray(cont))


def check_params(params) -> np.ndarray:
    """(2, COUNT_BUCKETS, 4): rows of D1, D2, D3, θ with 0 ≤ D_c ≤ c and θ ≥ 0."""
    p = np.asarray(params, dtype=np.float64)
    ok = p.shape == (2, COUNT_BUCKETS, 4) and bool(np.isfinite(p).all() and (p >= 0).all())
    if not ok or (p[..., :3] > np.array([1.0, 2.0, 3.0])).any():
        raise SeqlmError(f"smoothed ∞-gram parameters must be 2 tables of {COUNT_BUCKETS} rows "
                         "of D1, D2, D3, θ with 0 <= D_c <= c and θ >= 0: fit them on a "
                         "development text (SmoothedInfiniGram.fit)")
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

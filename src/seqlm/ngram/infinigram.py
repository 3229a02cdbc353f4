"""The ∞-gram model over a suffix index (infini-gram, Liu et al. 2024, arXiv 2401.17377, eq. 2).

For a context, back off to its longest suffix that occurs in the corpus followed by a token
(not by a document end), and predict from what followed it there, without discounting:

    P∞(w | h) = cnt(h_L w) / cnt⁺(h_L),   h_L the longest such suffix of h, L its length

where cnt⁺ counts the occurrences that a token follows. L = 0 is the unigram distribution of
the corpus. A probability of 0 is an honest answer (w never followed h_L); mixing with a
smoothed model (`seqlm.ngram.mixture`) turns it into a usable one. Every query is a few binary
searches over the mapped suffix array (`seqlm.ngram.suffix_index`): L is found by binary
search on the length (occurrence is monotone: a suffix of an occurring string occurs), and a
whole text is scored left to right with L growing by at most one per token (the matching
statistics), so about three searches per token. With `min_count` k the same scoring uses
the longest suffix that at least k tokens followed (cnt⁺ falls as the suffix grows, so the
search and the matching statistics still hold): a denser level for a mixture to weigh.
Leaves out: the paper's sparse / dense distinction as a separate output, and sharded indexes.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram import index_tokens
from seqlm.ngram.suffix_index import SuffixIndex


@dataclass(frozen=True)
class Distribution:
    """The next-token distribution after a context: nonzero ids, their probabilities, counts."""

    ids: np.ndarray  # (K,) token ids that followed the suffix
    probs: np.ndarray  # (K,) sums to 1
    counts: np.ndarray  # (K,)
    suffix_length: int  # L: tokens of the context used
    total: int  # cnt⁺(h_L)


@dataclass(frozen=True)
class TokenProbs:
    """Every token of a text scored: P∞ (T,), the suffix length L used (T,), cnt⁺ of that
    suffix (T,), and whether only one token ever followed it (T,). All but P∞ depend on the
    context alone, so a mixture may choose its weights by them."""

    probs: np.ndarray
    lengths: np.ndarray
    totals: np.ndarray
    sparse: np.ndarray


@dataclass(frozen=True)
class TextScore:
    """A text scored token by token: nats where p > 0, and how many tokens got p = 0."""

    tokens: int
    zero_tokens: int
    nll_nats: float  # summed over the tokens with p > 0
    mean_suffix_length: float

    @property
    def nats_per_token(self) -> float:
        """Over the tokens with p > 0 (the others contribute infinity)."""
        n = self.tokens - self.zero_tokens
        return self.nll_nats / n if n else float("nan")

    @property
    def zero_share(self) -> float:
        return self.zero_tokens / self.tokens if self.tokens else 0.0

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "zero_tokens": self.zero_tokens,
                "zero_share": self.zero_share, "nll_nats": self.nll_nats,
                "nats_per_token": self.nats_per_token,
                "mean_suffix_length": self.mean_suffix_length}


@dataclass(frozen=True)
class Hit:
    document: int
    position: int  # corpus position of the match's first token
    left: str
    match: str
    right: str


class InfiniGram:
    """Counts, distributions, probabilities and scores from one index file."""

    def __init__(self, path: str | Path, unit: str | None = None):
        self.index = SuffixIndex(path)
        self.unit = self.index.info.unit
        if unit is not None and unit != self.unit:
            raise SeqlmError(f"{path} indexes {self.unit} tokens, not {unit}: build a {unit} "
                             f"index with `seqlm ngram index --unit {unit}` or query in "
                             f"{self.unit}s")
        self.vocab = self.index.info.vocab
        self.sep = self.index.info.separator
        self.unigrams = np.asarray(self.index.info.unigrams, dtype=np.int64)

    # -- tokens ------------------------------------------------------------------------------

    def encode(self, text: str, line_end: bool = False) -> np.ndarray:
        """A text's ids; a context's last line gets no line end unless asked."""
        ids = index_tokens.encode(text, self.unit, self.vocab)
        return ids if line_end or text.endswith("\n") else ids[:-1]

    def decode(self, ids: np.ndarray) -> str:
        return index_tokens.decode(ids, self.unit, self.vocab)

    def as_ids(self, tokens) -> np.ndarray:
        return self.encode(tokens) if isinstance(tokens, str) else np.asarray(tokens, np.int64)

    # -- questions ---------------------------------------------------------------------------

    def count(self, tokens) -> int:
        """cnt(tokens): occurrences in the corpus (a text or a sequence of ids)."""
        return self.index.count(self.as_ids(tokens))

    def continued(self, ids: np.ndarray) -> tuple[int, int, int]:
        """The run of `ids` in the suffix array and cnt⁺(ids): occurrences a token follows."""
        if len(ids) == 0:
            return 0, len(self.index), len(self.index) - self.index.info.n_documents
        pat = self.index.pattern(ids)
        lo, hi = self.index.find_range(pat)
        if hi == lo:
            return lo, hi, 0
        s_lo, s_hi = self.index.find_range(pat + self.index.pattern([self.sep]), lo, hi)
        return lo, hi, (hi - lo) - (s_hi - s_lo)

    def longest_suffix(self, context: np.ndarray, at_least: int = 0, min_count: int = 1) -> int:
        """L: the length of the longest suffix of `context` that a token follows somewhere
        (`min_count` times or more); the search starts from `at_least` (known to qualify)."""
        if min_count > 1:
            return self.longest_frequent_suffix(context, at_least, min_count)
        lo, hi = at_least, len(context)
        while lo < hi:  # invariant: the suffix of length lo occurs
            mid = (lo + hi + 1) // 2
            if self.index.occurs(self.index.pattern(context[len(context) - mid:])):
                lo = mid
            else:
                hi = mid - 1
        while lo > 0 and self.continued(context[len(context) - lo:])[2] == 0:
            lo -= 1  # it occurs only at document ends: nothing followed it
        return lo

    def longest_frequent_suffix(self, context: np.ndarray, at_least: int, min_count: int) -> int:
        """The longest suffix with cnt⁺ ≥ `min_count`: binary search, since cnt⁺ of a suffix is
        at least that of any longer one (each occurrence of the longer is one of the shorter)."""
        lo, hi = at_least, len(context)
        while lo < hi:  # invariant: the suffix of length lo qualifies
            mid = (lo + hi + 1) // 2
            if self.continued(context[len(context) - mid:])[2] >= min_count:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def distribution(self, context) -> Distribution:
        """P∞(· | context): the tokens that followed its longest occurring suffix."""
        ctx = self.as_ids(context)
        L = self.longest_suffix(ctx)
        if L == 0:
            counts = self.unigrams.copy()
            counts[self.sep] = 0
        else:
            lo, hi, _ = self.continued(ctx[len(ctx) - L:])
            starts = self.index.sa[lo:hi].astype(np.int64) + L
            counts = np.bincount(self.index.tokens[starts].astype(np.int64),
                                 minlength=self.index.info.n_ids)
            counts[self.sep] = 0
        ids = np.flatnonzero(counts)
        total = int(counts[ids].sum())
        return Distribution(ids, counts[ids] / total, counts[ids], L, total)

    def prob(self, token, context) -> tuple[float, int]:
        """P∞(token | context) and the suffix length L it used; `token` is one id or text
        that is one token."""
        ids = self.as_ids(token)
        if np.ndim(ids) == 0:
            ids = np.array([ids])
        if len(ids) != 1:
            raise SeqlmError(f"{token!r} is {len(ids)} {self.unit} tokens: ask for one token")
        ctx = self.as_ids(context)
        L = self.longest_suffix(ctx)
        return self.conditional(ctx[len(ctx) - L:], int(ids[0]))[0], L

    def conditional(self, suffix: np.ndarray, token: int) -> tuple[float, int, bool]:
        """cnt(suffix token) / cnt⁺(suffix) for a suffix that a token follows, cnt⁺(suffix),
        and whether a single token ever followed it (the paper's "sparse" estimate)."""
        lo, hi, total = self.continued(suffix)
        if len(suffix) == 0:
            p = float(self.unigrams[token]) / total if token != self.sep else 0.0
            return p, total, False
        L, pattern = len(suffix), self.index.pattern(suffix)
        a, b = self.index.find_range(pattern + self.index.pattern([token]), lo, hi)
        first = int(self.index.tokens[int(self.index.sa[lo]) + L])
        if first == self.sep:  # the document ends sort first (word ids) or last (bytes)
            first = int(self.index.tokens[int(self.index.sa[hi - 1]) + L])
        if first == token:
            return (b - a) / total, total, b - a == total
        f_lo, f_hi = self.index.find_range(pattern + self.index.pattern([first]), lo, hi)
        return (b - a) / total, total, f_hi - f_lo == total

    def token_probs(self, ids: np.ndarray, max_suffix: int | None = None,
                    min_count: int = 1) -> TokenProbs:
        """P∞ of every token of `ids` given all before it, with what each estimate rests on;
        with `min_count` > 1, from the longest suffix that `min_count` tokens followed (a
        denser, shorter estimate than the ∞-gram's own)."""
        T = len(ids)
        out = TokenProbs(np.zeros(T), np.zeros(T, np.int64), np.zeros(T, np.int64),
                         np.zeros(T, bool))
        L = 0
        for t in range(T):
            L = min(L + 1, t, t if max_suffix is None else max_suffix)
            if not self.still_occurs(ids[t - L:t], min_count):
                L = self.longest_suffix(ids[t - L:t], min_count=min_count)
            out.probs[t], out.totals[t], out.sparse[t] = self.conditional(ids[t - L:t],
                                                                          int(ids[t]))
            out.lengths[t] = L
        return out

    def still_occurs(self, ctx: np.ndarray, min_count: int = 1) -> bool:
        """The fast path of scoring: the grown context still occurs followed by a token
        (`min_count` times or more)."""
        return len(ctx) == 0 or self.continued(ctx)[2] >= min_count

    def score(self, text: str) -> TextScore:
        """Every token of `text` (each line's tokens and its line end) given all before it."""
        got = self.token_probs(self.encode(text, line_end=True))
        probs, lengths = got.probs, got.lengths
        zero = probs == 0
        return TextScore(len(probs), int(zero.sum()), float(-np.log(probs[~zero]).sum()),
                         float(lengths.mean()) if len(lengths) else 0.0)

    def find(self, text: str, around: int = 20, limit: int = 10) -> tuple[int, list[Hit]]:
        """How often `text` occurs and its first `limit` occurrences in corpus order, with
        `around` tokens of context on each side (never past the document)."""
        ids = self.encode(text)
        if len(ids) == 0:
            raise SeqlmError("nothing to find: give a non-empty string")
        lo, hi = self.index.find_range(self.index.pattern(ids))
        positions = np.sort(self.index.sa[lo:hi].astype(np.int64))[:limit]
        docs = self.index.documents_of(positions)
        hits = []
        for p, d in zip(positions.tolist(), docs.tolist(), strict=True):
            start, end = self.index.doc_starts[d], self.index.doc_starts[d + 1] - 1
            left = self.index.tokens[max(start, p - around):p]
            right = self.index.tokens[p + len(ids):min(end, p + len(ids) + around)]
            hits.append(Hit(d, p, self.decode(left), self.decode(ids), self.decode(right)))
        return hi - lo, hits

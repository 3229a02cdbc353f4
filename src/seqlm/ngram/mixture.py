"""Linear interpolation of language models that predict the same tokens, weights by EM.

    p(w_t | h_t) = Σ_k λ_k p_k(w_t | h_t),   λ_k ≥ 0, Σ λ_k = 1

Every component scores a text as the n-gram stream does (`seqlm.ngram.stream`): each line's
tokens and then its end, one log-probability (nats) per token, `nan` where it gives none (a
neural LM has no score for the first token). The weights are fitted on a development text by
expectation-maximisation (Jelinek & Mercer 1980; the E-step is each component's posterior
share of every token, the M-step their mean), which never lowers the dev likelihood; the
final score is taken on a different text. With an ∞-gram among the models the weights may
depend on the context: each bucket of the ∞-gram's suffix length, sparseness (only one
token ever followed the suffix) and suffix count gets its own EM weights (the infini-gram
paper's separate weight for sparse estimates, made finer); a bucket depends on the context
alone, so the mixture still sums to one. An ∞-gram may also join at denser levels
(`InfiniGramScorer.min_count`: the longest suffix that k tokens followed), a backoff over
suffix lengths that the per-bucket weights learn. Components here: an n-gram model (`NgramScorer`,
from ARPA or binary) and an ∞-gram index (`InfiniGramScorer`, or smoothed:
`seqlm.ngram.smoothed_infinigram.SmoothedInfiniGramScorer`, whose parameters a `tune(dev_text)`
fits on the dev text before EM); a neural run joins at the
experiments level (`seqlm.lab.mix`), since `seqlm.ngram` never imports torch.
Leaves out: buckets from other components (SRILM's -bayes on counts), log-linear mixing.
"""

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.metrics import nats_to_bits, perplexity
from seqlm.ngram.stream import NGRAM_SPECIALS

WEIGHT_TOLERANCE = 1e-6  # how far given weights may sum from 1
LENGTH_BUCKETS = 8  # ∞-gram suffix lengths 0, 1, 2, 3-4, 5-8, 9-16, 17-32, 33+
COUNT_BUCKETS = 6  # cnt⁺ of the suffix: 1, 2-3, 4-7, 8-15, 16-31, 32+
MIN_BUCKET_TOKENS = 50  # a bucket with fewer dev tokens keeps the global weights


class Scorer(Protocol):
    name: str
    unit: str

    def token_logprobs(self, text: str) -> np.ndarray:
        """log p of every token of `text` (T,), nats; nan where not scored."""

    def vocabulary(self) -> set[str] | None:
        """The tokens it can predict (None: every token of its unit)."""


@dataclass
class NgramScorer:
    """An n-gram model (`read_arpa`, `load_binary`, `fit`) as a mixture component."""

    model: object
    name: str = "n-gram"

    @property
    def unit(self) -> str:
        return self.model.unit

    def token_logprobs(self, text: str) -> np.ndarray:
        from seqlm.ngram.text_ids import encode

        stream = encode(text, self.model.vocab, self.unit)
        nats, _ = self.model.score_positions(stream.ids, stream.oov, stream.scored())
        return nats

    def vocabulary(self) -> set[str] | None:
        return set(self.model.vocab.tokens) - set(NGRAM_SPECIALS)


@dataclass
class InfiniGramScorer:
    """An ∞-gram index as a mixture component: p = 0 where the suffix never saw the token.
    With `min_count` k > 1, the estimate from the longest suffix that k tokens or more
    followed: shorter and denser, a backoff level of the ∞-gram for the mixture to weigh."""

    model: object
    name: str = "∞-gram"
    min_count: int = 1

    @property
    def unit(self) -> str:
        return self.model.unit

    def scored(self, text: str):
        """`InfiniGram.token_probs` of the text, kept for the last two texts scored (the
        mixture asks for probabilities and buckets of its dev and test texts)."""
        kept = self.__dict__.setdefault("_kept", {})
        if text not in kept:
            if len(kept) >= 2:
                kept.pop(next(iter(kept)))
            kept[text] = self.model.token_probs(self.model.encode(text, line_end=True),
                                                min_count=self.min_count)
        return kept[text]

    def token_logprobs(self, text: str) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.scored(text).probs)

    def context_buckets(self, text: str) -> np.ndarray:
        """A weight bucket per token from its context alone (T,): the suffix length L on a
        log2 scale (0, 1, 2, 3-4, ..., 65+), sparse or not (one continuation ever), and
        cnt⁺ of the suffix on a log2 scale (1, 2-3, 4-7, ..., 32+)."""
        got = self.scored(text)
        length = np.minimum(np.ceil(np.log2(got.lengths + 1)), LENGTH_BUCKETS - 1)
        count = np.minimum(np.floor(np.log2(np.maximum(got.totals, 1))), COUNT_BUCKETS - 1)
        return ((length * 2 + got.sparse) * COUNT_BUCKETS + count).astype(np.int64)

    def vocabulary(self) -> set[str] | None:
        return None if self.model.vocab is None else set(self.model.vocab[3:]) - {"\n"}


@dataclass(frozen=True)
class Score:
    """One model's (or the mixture's) score on the scored tokens."""

    tokens: int
    nll_nats: float
    zero_tokens: int = 0  # tokens it gave probability 0 (nll is then infinite)

    @property
    def nats(self) -> float:
        return self.nll_nats / self.tokens

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "nats_per_token": self.nats,
                "bits_per_token": nats_to_bits(self.nats), "perplexity": perplexity(self.nats),
                "zero_tokens": self.zero_tokens}


@dataclass(frozen=True)
class MixReport:
    names: list[str]
    weights: np.ndarray  # (K,)
    dev_nats: list[float]  # mixture nats per token on dev, before each EM step and at the end
    components: list[Score]  # on the test text
    mixture: Score
    skipped_tokens: int  # test tokens some component does not score (nan)
    bucket_weights: dict[int, np.ndarray] = field(default_factory=dict)  # context buckets
    dev_nats_bucketed: float | None = None
    bucket_dev_nats: dict[int, list[float]] = field(default_factory=dict)  # EM per bucket

    def to_dict(self) -> dict:
        return {"weights": dict(zip(self.names, self.weights.tolist(), strict=True)),
                "dev_nats_per_iteration": self.dev_nats,
                "components": {n: s.to_dict() for n, s in zip(self.names, self.components,
                                                              strict=True)},
                "mixture": self.mixture.to_dict(), "skipped_tokens": self.skipped_tokens,
                "bucket_weights": {b: w.tolist() for b, w in self.bucket_weights.items()},
                "dev_nats_bucketed": self.dev_nats_bucketed,
                "bucket_dev_nats_per_iteration": self.bucket_dev_nats}


def check_components(scorers: list) -> None:
    """One unit and (for words) one vocabulary, or a one-line error naming the odd one out."""
    if len(scorers) < 2:
        raise SeqlmError("a mixture needs at least two models")
    first = scorers[0]
    for s in scorers[1:]:
        if s.unit != first.unit:
            raise SeqlmError(f"{s.name} predicts {s.unit} tokens and {first.name} {first.unit} "
                             "tokens: mix models of one unit")
        a, b = first.vocabulary(), s.vocabulary()
        if first.unit == "word" and a is not None and b is not None and a != b:
            odd = sorted(a ^ b)[:3]
            raise SeqlmError(f"{s.name} is a model of another vocabulary than {first.name} "
                             f"({len(a ^ b)} words differ, e.g. {', '.join(odd)}): train both "
                             "on the same corpus split")


def stacked_logprobs(scorers: list, text: str) -> np.ndarray:
    """log p of every token under every model (K, T), one row per model."""
    rows = [np.asarray(s.token_logprobs(text), dtype=np.float64) for s in scorers]
    if len({len(r) for r in rows}) != 1:
        sizes = ", ".join(f"{s.name} {len(r)}" for s, r in zip(scorers, rows, strict=True))
        raise SeqlmError(f"the models cut the text into different tokens ({sizes}): mix models "
                         "of one unit and tokenizer")
    return np.stack(rows)


def check_weights(weights, k: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (k,):
        raise SeqlmError(f"{len(w)} weights for {k} models: give one weight per model")
    if (w < 0).any() or abs(w.sum() - 1.0) > WEIGHT_TOLERANCE:
        raise SeqlmError(f"weights {', '.join(f'{x:g}' for x in w)} sum to {w.sum():g}, not 1 "
                         "(or one is negative): give non-negative weights that sum to 1, or "
                         "leave them out to fit them by EM")
    return w


def fit_weights(logp: np.ndarray, iterations: int = 100, tolerance: float = 1e-6,
                ) -> tuple[np.ndarray, list[float]]:
    """EM for the weights from dev log-probabilities (K, T): the weights (K,) and the dev
    nats per token before every step and after the last (non-increasing)."""
    K = len(logp)
    keep = ~np.isnan(logp).any(axis=0)
    p = np.exp(logp[:, keep])  # (K, T')
    if not keep.any():
        raise SeqlmError("no development token is scored by every model: give a longer text")
    w = np.full(K, 1.0 / K)
    history = []
    for _ in range(iterations):
        mix = w @ p  # (T',)
        history.append(float(-np.log(mix).mean()))
        if len(history) > 1 and history[-2] - history[-1] < tolerance:
            break
        w = (w[:, None] * p / mix).mean(axis=1)  # E-step shares, M-step mean
    else:
        history.append(float(-np.log(w @ p).mean()))
    return w / w.sum(), history


def score_rows(logp: np.ndarray, weights: np.ndarray) -> tuple[list[Score], Score, int]:
    """Each model's and the mixture's score on the tokens every model scores; `weights` are
    (K,) for all tokens or (T, K), one row per token."""
    keep = ~np.isnan(logp).any(axis=0)
    lp = logp[:, keep]
    n = int(keep.sum())
    parts = [Score(n, float(-row.sum()), int(np.isneginf(row).sum())) for row in lp]
    w = weights if weights.ndim == 1 else weights[keep].T  # (K,) or (K, T')
    with np.errstate(divide="ignore"):
        mix = np.log((np.exp(lp) * (w[:, None] if w.ndim == 1 else w)).sum(axis=0))
    return parts, Score(n, float(-mix.sum()), int(np.isneginf(mix).sum())), int((~keep).sum())


def bucketer(scorers: list):
    """The first component that offers context buckets (an ∞-gram, its own estimate before
    its denser levels), or None."""
    offers = [s for s in scorers if hasattr(s, "context_buckets")]
    return min(offers, key=lambda s: s.min_count, default=None)


def fit_bucket_weights(logp: np.ndarray, buckets: np.ndarray, iterations: int,
                       tolerance: float) -> tuple[dict[int, np.ndarray], dict[int, list[float]]]:
    """EM weights per context bucket from the dev tokens in it (MIN_BUCKET_TOKENS at least),
    and each bucket's dev nats per token before every EM step and after the last."""
    out, histories = {}, {}
    for b in np.unique(buckets).tolist():
        rows = logp[:, buckets == b]
        if (~np.isnan(rows).any(axis=0)).sum() >= MIN_BUCKET_TOKENS:
            out[b], histories[b] = fit_weights(rows, iterations, tolerance)
    return out, histories


def per_token(weights: np.ndarray, table: dict[int, np.ndarray], buckets: np.ndarray
              ) -> np.ndarray:
    """(T, K) weights: the bucket's where it has its own, else the global ones."""
    out = np.tile(weights, (len(buckets), 1))
    for b, w in table.items():
        out[buckets == b] = w
    return out


def mix(scorers: list, dev_text: str, test_text: str, weights=None, iterations: int = 100,
        tolerance: float = 1e-6, by_context: bool = True) -> MixReport:
    """Fit weights on `dev_text` (unless given) and score `test_text` with every model and the
    mixture. With `by_context` and an ∞-gram among the models, each context bucket of the
    ∞-gram (suffix length, sparse or not: `InfiniGramScorer.context_buckets`) gets its own
    EM weights, as the infini-gram paper gives sparse estimates their own weight."""
    check_components(scorers)
    for s in scorers:  # components with parameters of their own fit them on dev first
        if hasattr(s, "tune"):
            s.tune(dev_text)
    history: list[float] = []
    table, bucket_history, dev_bucketed = {}, {}, None
    source = bucketer(scorers) if by_context else None
    if weights is None:
        dev = stacked_logprobs(scorers, dev_text)
        weights, history = fit_weights(dev, iterations, tolerance)
        if source is not None:
            buckets = source.context_buckets(dev_text)
            table, bucket_history = fit_bucket_weights(dev, buckets, iterations, tolerance)
            _, fitted, _ = score_rows(dev, per_token(weights, table, buckets))
            dev_bucketed = fitted.nats
    else:
        weights = check_weights(weights, len(scorers))
    test = stacked_logprobs(scorers, test_text)
    w = per_token(weights, table, source.context_buckets(test_text)) if table else weights
    parts, total, skipped = score_rows(test, w)
    return MixReport([s.name for s in scorers], weights, history, parts, total, skipped,
                     table, dev_bucketed, bucket_history)

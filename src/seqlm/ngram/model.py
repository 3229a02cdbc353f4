"""An n-gram language model and every way to ask it something, with KenLM's conventions.

`NgramModel` holds per-order tables (`seqlm.ngram.trie` keys, log-probabilities in nats, and a
backoff or floor per context) and combines them through one of the forms in
`seqlm.ngram.forms`, chosen once at construction. The questions, as in KenLM's Python module
plus what KenLM cannot answer cheaply:

- `logprob(word, context)`: log p(word | context) in nats; put `<s>` first in the context to
  condition on a sentence start.
- `score(sentence)` (nats) and `score_log10(sentence)`: a line with `<s>` before and `</s>`
  after; `token_scores(sentence)` gives the parts, which add up to the score.
- `perplexity(text)`: every word and one `</s>` per line scored and counted, `<s>` never; an OOV
  is scored as `<unk>` and the context after it starts empty; reported including and excluding
  OOVs exactly as KenLM's `query` does.
- `distribution(context)` and `top_k(context, k)`: the whole next-token distribution.

Scoring is vectorised over every position of a text: one `np.searchsorted` per order finds the
longest held n-gram ending at each position. Leaves out: KenLM's right-state minimisation
(not needed for exact scores) and incremental state-by-state scoring.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from seqlm.metrics import log10_to_nats, nats_to_log10, perplexity
from seqlm.ngram.forms import FORMS
from seqlm.ngram.matching import Match, dense, find_matches
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.reading import string_pieces
from seqlm.ngram.single_precision import kenlm_totals
from seqlm.ngram.stream import NGRAM_BOS_ID, NgramVocab, encode_tokens, split_line
from seqlm.ngram.text_ids import encode

PIECE_CHARS = 1 << 22  # characters of text scored at once


@dataclass(frozen=True)
class TokenScore:
    """One predicted token: its log-probability, the n-gram order matched, OOV or not."""

    token: str
    nats: float
    order: int
    oov: bool


@dataclass(frozen=True)
class PerplexityReport:
    """KenLM `query`'s summary of a text: totals including OOVs, and the OOVs' share."""

    tokens: int  # scored tokens: words (OOVs included) plus one </s> per line
    oovs: int
    sentences: int
    nll_nats: float  # total negative log-likelihood, OOVs included
    oov_nll_nats: float  # the OOVs' part of it

    @property
    def perplexity(self) -> float:
        return perplexity(self.nll_nats / self.tokens)

    @property
    def perplexity_excluding_oov(self) -> float:
        n = self.tokens - self.oovs
        return perplexity((self.nll_nats - self.oov_nll_nats) / n) if n else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "perplexity": self.perplexity,
                "perplexity_excluding_oov": self.perplexity_excluding_oov,
                "log10_prob": -nats_to_log10(self.nll_nats)}


@dataclass
class NgramModel:
    """Tables per order (lists indexed by order - 1) and how to combine them.

    keys[k-1]: (M_k,) sorted int64 n-gram keys;  logp[k-1]: (M_k,) log-probabilities, nats
    backoff[k-1] (k < N): (M_k,) nats per context (backoff form; 0 where not a context)
    floor[k-1] (k < N): (M_k,) nats per context (floor form; NaN where not a context)
    """

    vocab: NgramVocab
    unit: str
    order: int
    smoothing: str
    form: str
    keys: list[np.ndarray]
    logp: list[np.ndarray]
    backoff: list[np.ndarray] = field(default_factory=list)
    floor: list[np.ndarray] = field(default_factory=list)
    log_alpha: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)  # discounts, fallbacks, settings
    precision: str = "double"  # "kenlm": perplexity summed in float32 as KenLM's query does
    indexes: dict[int, ProbingIndex] = field(default_factory=dict, repr=False, compare=False)
    engine: str = field(default="numpy", compare=False)  # who finds the matches (engine.py)
    reopen: tuple | None = field(default=None, repr=False, compare=False)  # (fn, args): pickle
    float32_tables: tuple | None = field(default=None, repr=False, compare=False)  # kenlm sums
    compiled_tables: tuple | None = field(default=None, repr=False, compare=False)  # scoring

    def __post_init__(self) -> None:
        self.combine = FORMS[self.form]  # the one branch on the smoothing family

    def __reduce_ex__(self, protocol):
        """A mapped model pickles as how to map it again (a path: cheap for workers)."""
        if self.reopen is not None:
            return reopened, (self.reopen, self.engine)
        return super().__reduce_ex__(protocol)

    def __getstate__(self) -> dict:
        """An in-memory model pickles without the compiled scorer's tables (rebuilt in ~0.04 s
        where needed, instead of tens of MB sent to each worker)."""
        return {**self.__dict__, "compiled_tables": None, "float32_tables": None}

    @property
    def V(self) -> int:  # noqa: N802 (the shape letter of the vocabulary)
        return len(self.vocab)

    def sizes(self) -> list[int]:
        return [len(k) for k in self.keys]

    # -- lookups -----------------------------------------------------------------------------

    def index(self, k: int) -> ProbingIndex:
        """The hash index of the order-k keys, built on first use (scoring needs it; training
        and ARPA writing do not)."""
        if k not in self.indexes:
            self.indexes[k] = ProbingIndex(self.keys[k - 1])
        return self.indexes[k]

    def matches(self, ids: np.ndarray, oov: np.ndarray) -> list[Match]:
        """The held n-grams ending at each position, order by order (`seqlm.ngram.matching`;
        the compiled engine's `seqlm.ngram.compiled.find_matches` gives the same arrays)."""
        if self.engine == "numba":
            from seqlm.ngram.compiled import find_matches as compiled_matches

            return compiled_matches(self, ids, oov)
        return find_matches(self, ids, oov)

    def lookup(self, ids: np.ndarray, oov: np.ndarray) -> list[np.ndarray]:
        """found[k-1][i]: id of the order-k n-gram ending at position i, -1 if not held (T,)."""
        return dense(self.matches(ids, oov), len(ids))

    def score_positions(self, ids: np.ndarray, oov: np.ndarray, pos: np.ndarray | None = None,
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities (P,) of the tokens at positions `pos` (default: every position)
        given what precedes them (back to `<s>`), and the n-gram order matched at each (P,)."""
        nats, matched = self.score_matches(ids, oov, self.matches(ids, oov))
        return (nats, matched) if pos is None else (nats[pos], matched[pos])

    def score_matches(self, ids: np.ndarray, oov: np.ndarray, found: list[Match],
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Log-probability (T,) and matched order (T,) of every position, from its matches."""
        stored = self.logp[0][ids]
        matched = np.ones(len(ids), dtype=np.int64)
        for k, m in enumerate(found[1:], 2):
            stored[m.at] = self.logp[k - 1][m.ids]
            matched[m.at] = k
        before = []  # h_j held before position i: the order-j match ending at i - 1
        for m in found[:self.order - 1]:
            keep = m.at + 1 < len(ids)
            before.append((m.at[keep] + 1, m.ids[keep]))
        run_before = None
        if self.combine.needs_runs:
            run_before = np.concatenate([[0], chain_runs(ids, oov)[:-1]])
        nats = self.combine.score(self, stored, matched, before, run_before)
        nats[ids == NGRAM_BOS_ID] = -np.inf  # <s> is never predicted
        return nats, matched

    # -- questions ---------------------------------------------------------------------------

    def logprob(self, word: str, context: str | list[str] | tuple[str, ...] = ()) -> float:
        """log p(word | context) in nats; context is a token list (`<s>` first for a start)
        or a string, read as this model's own tokens (words of a word model, characters of a
        character model)."""
        if isinstance(context, str):
            context = split_line(context, self.unit)
        ids, oov = encode_tokens([*context, word], self.vocab)
        nats, _ = self.score_positions(ids, oov, np.array([len(ids) - 1]))
        return float(nats[0])

    def token_scores(self, sentence: str, bos: bool = True, eos: bool = True) -> list[TokenScore]:
        """Every predicted token of one line (kenlm's `full_scores`), in nats."""
        tokens = split_line(sentence, self.unit)
        ids, oov = encode_tokens(["<s>"] * bos + tokens + ["</s>"] * eos, self.vocab)
        pos = np.arange(int(bos), len(ids))
        nats, matched = self.score_positions(ids, oov, pos)
        names = tokens + ["</s>"] * eos
        return [TokenScore(t, float(n), int(m), bool(o))
                for t, n, m, o in zip(names, nats, matched, oov[pos], strict=True)]

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        """Log-probability of one line in nats: the sum of its `token_scores`."""
        return float(sum(t.nats for t in self.token_scores(sentence, bos, eos)))

    def score_log10(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        """The same in log10, as kenlm's `score` reports it."""
        return nats_to_log10(self.score(sentence, bos, eos))

    def perplexity(self, text: str, workers: int = 1, threads: int = 1) -> PerplexityReport:
        """Score every line of `text` (see the module docstring for the conventions); with
        precision "kenlm", in float32 log10 exactly as KenLM's `query` adds up. The text is
        scored in pieces of whole lines (`PIECE_CHARS`): n-grams never cross a line, and small
        arrays stay in cache instead of being allocated afresh. `workers` > 1 scores the
        pieces in that many processes (`seqlm.ngram.parallel`) and adds them up in the same
        order: the same report to the last bit. `threads` > 1 scores each piece's chunks of
        lines in that many threads (numba engine, backoff form; the same report too)."""
        pieces = list(string_pieces(text, PIECE_CHARS))
        if workers > 1 and len(pieces) > 1:
            from seqlm.ngram.parallel import totals_in_workers

            rows = totals_in_workers(self, pieces, workers)
        else:
            rows = [self.piece_totals(piece, threads) for piece in pieces]
        totals = np.zeros(5)  # tokens, OOVs, sentences, nll, OOV nll
        for row in rows:
            totals += row
        return PerplexityReport(tokens=int(totals[0]), oovs=int(totals[1]),
                                sentences=int(totals[2]), nll_nats=float(totals[3]),
                                oov_nll_nats=float(totals[4]))

    def piece_totals(self, piece: str, threads: int = 1) -> np.ndarray:
        """Tokens, OOVs, sentences, nll and OOV nll (nats) of whole lines. (5,) On the numba
        engine a backoff-form model scores in one compiled pass (`compiled_score`)."""
        if self.engine == "numba" and self.form == "backoff":
            from seqlm.ngram.compiled_score import piece_totals

            return piece_totals(self, piece, threads)
        stream = encode(piece, self.vocab, self.unit)
        pos = stream.scored()
        oov = stream.oov[pos]
        if self.precision == "kenlm":
            total10, oov10 = kenlm_totals(self, stream)
            nll, oov_nll = -log10_to_nats(total10), -log10_to_nats(oov10)
        else:
            total, oov_total = self.combine.total(self, stream.ids, stream.oov,
                                                  self.matches(stream.ids, stream.oov))
            nll, oov_nll = -float(total), -float(oov_total)
        return np.array([len(pos), oov.sum(), stream.n_sentences, nll, oov_nll],
                        dtype=np.float64)

    def log_distribution(self, context: list[str] | tuple[str, ...] = ()) -> np.ndarray:
        """log p(w | context) for every word id w (V,), nats; `<s>` gets -inf. Stupid
        backoff gives log scores, which do not sum to one."""
        chain, L = self.context_chain(list(context))
        logv = self.combine.vector(self, chain, L)
        logv[NGRAM_BOS_ID] = -np.inf
        return logv

    def distribution(self, context: list[str] | tuple[str, ...] = ()) -> np.ndarray:
        """p(w | context) for every word id w (V,); ids as `vocab.ids` gives them."""
        return np.exp(self.log_distribution(context))

    def top_k(self, context: list[str] | tuple[str, ...] = (), k: int = 10,
              ) -> list[tuple[str, float]]:
        """The k most likely next tokens and their probabilities (scores for stupid backoff)."""
        p = self.distribution(context)
        k = max(0, min(k, len(p)))
        best = np.argpartition(-p, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
        best = best[np.lexsort((best, -p[best]))]  # by probability, ties by id
        return [(self.vocab.token(int(i)), float(p[i])) for i in best]

    def context_chain(self, context: list[str]) -> tuple[list[int], int]:
        """Ids of the held contexts of lengths 1, 2, ... ending the context, and L, the
        context length available (at most N-1, cut at `<s>` and after an OOV)."""
        if not context:
            return [], 0
        ids, oov = encode_tokens(context, self.vocab)
        found = self.lookup(ids, oov)
        chain = []
        for j in range(1, self.order):
            if found[j - 1][-1] < 0:
                break
            chain.append(int(found[j - 1][-1]))
        return chain, int(min(self.order - 1, chain_runs(ids, oov)[-1]))


def reopened(reopen: tuple, engine: str) -> "NgramModel":
    """A model mapped again from its file (`NgramModel.reopen`), with its engine."""
    fn, args = reopen
    model = fn(*args)
    model.engine = engine
    return model


def chain_runs(ids: np.ndarray, oov: np.ndarray) -> np.ndarray:
    """run[i]: how many tokens ending at i can serve as context: back to `<s>` (included) or
    to an OOV (excluded). (T,)"""
    positions = np.arange(len(ids))
    resets = np.where(ids == NGRAM_BOS_ID, positions - 1, -1)
    resets = np.where(oov, positions, resets)
    return positions - np.maximum.accumulate(resets) if len(ids) else positions

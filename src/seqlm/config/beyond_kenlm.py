"""`seqlm ngram index | find | query | score`, `seqlm mix` and entropy pruning: the ∞-gram
index, mixtures of language models and Stolcke pruning (issue 27)."""

from dataclasses import dataclass

from seqlm.config.data import SPLITS, UNITS, CorpusConfig
from seqlm.config.engine import DEVICE_HELP
from seqlm.config.fields import Config, opt

DOCUMENT_RULES = ("files", "paragraphs", "lines", "split")  # seqlm.ngram.documents


@dataclass(frozen=True)
class InfiniGramConfig(Config):
    """The ∞-gram index: what it is built from, and how queries answer."""

    unit: str = opt("", choices=("", *UNITS), help="'': the corpus's own unit")
    split: str = opt("train", choices=SPLITS, help="the split indexed")
    documents: str = opt("", choices=("", *DOCUMENT_RULES),
                         help="'': files for python-stdlib and file: corpora, else the split")
    corpus: CorpusConfig = opt(factory=CorpusConfig)
    around: int = opt(20, ge=0, help="find: tokens of context shown on each side")
    limit: int = opt(10, ge=0, help="find: occurrences listed")
    top_k: int = opt(10, ge=1, help="query: next tokens listed")
    score_split: str = opt("valid", choices=SPLITS, help="score: the split of the corpus scored "
                           "(without a text file)")


@dataclass(frozen=True)
class MixConfig(Config):
    """Linear interpolation of language models, weights fitted by EM on a dev split."""

    dev_split: str = opt("valid", choices=SPLITS,
                         help="the weights are fitted here")
    test_split: str = opt("test", choices=SPLITS,
                          help="the mixture is scored here, never seen by EM")
    iterations: int = opt(100, ge=1, help="EM: at most this many iterations")
    tolerance: float = opt(1e-6, ge=0.0, help="EM: stop when dev nats/token improve less")
    by_context: bool = opt(True, help="with an ∞-gram: EM weights per bucket of its context "
                           "(suffix length, one continuation or several)")
    min_counts: tuple[int, ...] = opt((), ge=2, help="with an ∞-gram: also mix its estimate "
                                      "from the longest suffix that at least k tokens "
                                      "followed, one more model per k (e.g. 4 32)")
    corpus: CorpusConfig = opt(factory=CorpusConfig)
    device: str = opt("cpu", help="where a neural run is scored: " + DEVICE_HELP)

    def check(self) -> None:
        from seqlm.errors import ConfigError

        if self.dev_split == self.test_split:
            raise ConfigError("test_split", self.test_split,
                              "must differ from dev_split: the score would see the tuning data")


@dataclass(frozen=True)
class EntropyPruneConfig(Config):
    """Stolcke's relative-entropy pruning of a backoff model."""

    threshold: float = opt(0.0, ge=0.0, help="prune n-grams that raise perplexity by less than "
                           "this (relative), e.g. 1e-7 (SRILM's -prune; 0: none)")
    target_ngrams: int | None = opt(None, ge=1, help="instead: prune the least useful n-grams "
                                    "until this many remain in all orders")
    min_order: int = opt(2, ge=2, help="prune only n-grams of this order and above "
                         "(SRILM's -minprune; 3 keeps every bigram, as count pruning 0 0 1 does)")
    prune: tuple[int, ...] = opt((), ge=0, help="count cut-offs first: drop n-grams of order k "
                                 "whose raw training count is <= T_k (lmplz --prune's "
                                 "thresholds, e.g. --prune 0 0 1 1 1), then prune by entropy; "
                                 "counts the training text again (--corpus or --text-file)")
    corpus: CorpusConfig = opt(factory=CorpusConfig)

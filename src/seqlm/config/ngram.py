"""`seqlm ngram`: the n-gram model, its data, and how to sample from it."""

from dataclasses import dataclass

from seqlm.config.data import SPLITS, UNITS, CorpusConfig
from seqlm.config.fields import Config, check_range, opt
from seqlm.errors import ConfigError

SMOOTHINGS = ("mle", "addk", "kn", "mkn", "stupid")
ARPA_SMOOTHINGS = ("mle", "kn", "mkn")  # the backoff form an ARPA file (and KenLM) holds
PRUNABLE = ("kn", "mkn")  # lmplz --prune and a memory budget: Kneser-Ney only
NGRAM_PRECISIONS = ("double", "kenlm")
NGRAM_ENGINES = ("auto", "numpy", "numba")
ARPA_WRITERS = ("auto", "c", "numpy")  # the numpy engine's ARPA lines (seqlm.ngram.arpa_c)
MIN_ORDER, MAX_ORDER = 1, 16


def check_unit(unit: str) -> str:
    """The one check of a resolved token unit (a model's, a file's: never '')."""
    check_range("unit", unit, {"choices": UNITS})
    return unit


def check_precision(precision: str) -> str:
    """The one check of an n-gram model's arithmetic (NgramConfig.precision's choices)."""
    check_range("precision", precision, {"choices": NGRAM_PRECISIONS})
    return precision


@dataclass(frozen=True)
class NgramConfig(Config):
    """`seqlm ngram`: the n-gram model (order, smoothing, unit), its data, and how to sample."""

    order: int = opt(3, ge=MIN_ORDER, le=MAX_ORDER, help="n-gram order (3 to 5 is usual for "
                     "words, 5 to 10 for characters)")
    smoothing: str = opt("mkn", choices=SMOOTHINGS)
    unit: str = opt("word", choices=("", *UNITS), help="'': the corpus's own, or the model file's")
    # k = 0 would be maximum likelihood, which `mle` is already (and names plainly)
    k: float = opt(1.0, gt=0.0, help="addk: the count added to every n-gram (1 = Laplace; "
                   "for k = 0 use --smoothing mle)")
    # Brants et al. (2007) use 0.4; above 1 a backed-off guess would outscore a seen n-gram
    alpha: float = opt(0.4, gt=0.0, le=1.0, help="stupid backoff: the factor per backed-off "
                       "order")
    discount_fallback: bool = opt(True, help="kn/mkn: unusable discounts -> fallback_discounts + "
                                  "warning (--no-discount-fallback: fail instead)")
    fallback_discounts: tuple[float, float, float] = opt((0.5, 1.0, 1.5), ge=0.0, help="KenLM's")
    corpus: CorpusConfig = opt(factory=CorpusConfig)
    seed: int = opt(0, help="sampling")
    temperature: float = opt(1.0, ge=0.0, help="sampling: p ** (1 / temperature); 0 = greedy")
    samples: int = opt(5, ge=1, help="sampling: how many sentences")
    max_tokens: int = opt(100, ge=1, help="sampling: tokens per sentence at most (then cut)")
    top_k: int = opt(10, ge=1, help="predict: how many next tokens to list")
    prefix: str = opt("", help="sample: start every sentence with this text")
    split: str = opt("valid", choices=SPLITS, help="eval: which split of the corpus is scored")
    precision: str = opt("double", choices=NGRAM_PRECISIONS, help="kenlm: estimate and sum "
                         "perplexities in float32 as lmplz and query do")
    memory: str | None = opt(None, help="train: memory budget in lmplz -S units (500M, 2G, "
                             "80%): counts are sorted in runs that spill to disk; None: all "
                             "in memory")
    temp_dir: str | None = opt(None, help="where spill files go under a memory budget (None: the "
                               "OS's)")
    prune: tuple[int, ...] = opt((), ge=0, help="lmplz --prune: drop n-grams of order k whose "
                                 "raw count is <= T_k (non-decreasing, unigrams 0), e.g. "
                                 "--prune 0 1 1")
    prob_bits: int = opt(0, ge=0, le=16, help="binary model: quantise log10 p to 2**bits values")
    backoff_bits: int = opt(0, ge=0, le=16, help="binary model: quantise backoffs the same way")
    engine: str = opt("auto", choices=NGRAM_ENGINES, help="train: numpy (the "
                      "reference) or numba (compiled, same bytes); auto: numba from "
                      "compiled_min_tokens on, where Numba imports")
    compiled_min_tokens: int = opt(4_000_000, ge=0, help="train, engine auto: smaller texts "
                                   "skip `import numba` and its cache (~1 s)")
    compiled_min_chars: int = opt(64_000_000, ge=0, help="eval, engine auto: compiled scoring "
                                  "from this many characters (it saves ~0.1 us a token)")
    workers: int = opt(1, ge=1, le=256, help="eval: processes scoring the text's 4M-character "
                       "pieces (the same report as one)")
    train_threads: int = opt(2, ge=1, le=256, help="train, numba engine or C lines: threads "
                             "formatting the ARPA lines of a block at once (the same file)")
    threads: int = opt(1, ge=1, le=256, help="eval, numba engine: threads scoring each "
                       "piece's chunks of lines (the same report as one; 1 on a shared CPU)")
    arpa_writer: str = opt("auto", choices=ARPA_WRITERS, help="train, numpy engine: who "
                           "formats the ARPA lines: c (compiled once with the system C "
                           "compiler, cached), numpy (the reference; same bytes); auto: c "
                           "where a compiler is found")
    verify: bool = opt(False, help="binary model: check every table's checksum on load (files up "
                       "to 64 MiB always are)")

    def check(self) -> None:
        if self.precision == "kenlm" and self.smoothing not in ARPA_SMOOTHINGS:
            raise ConfigError("precision", self.precision, f"needs an ARPA-form smoothing, not "
                              f"{self.smoothing!r}: use --smoothing mkn, kn or mle")
        if self.prune and self.smoothing not in PRUNABLE:
            raise ConfigError("prune", self.prune, f"works with Kneser-Ney (as lmplz's), not "
                              f"{self.smoothing!r}: use --smoothing mkn or kn")


def ngram_command() -> NgramConfig:
    """What `seqlm ngram` commands start from: the defaults, with the unit left to the corpus
    (training) or to the model file (reading one)."""
    return NgramConfig(unit="")

"""`seqlm ngram`: the n-gram model, its data, and how to sample from it."""

from dataclasses import dataclass

from seqlm.config.data import UNITS, CorpusConfig
from seqlm.config.fields import Config, opt


@dataclass(frozen=True)
class NgramConfig(Config):
    """`seqlm ngram`: the n-gram model (order, smoothing, unit), its data, and how to sample."""

    order: int = opt(3, ge=1, le=16)
    smoothing: str = opt("mkn", choices=("mle", "addk", "kn", "mkn", "stupid"))
    unit: str = opt("word", choices=("", *UNITS), help="'': the corpus's own, or the model file's")
    k: float = opt(1.0, ge=0.0, help="addk: the count added to every n-gram (1 = Laplace)")
    alpha: float = opt(0.4, gt=0.0, help="stupid backoff: the factor per backed-off order")
    discount_fallback: bool = opt(True, help="kn/mkn: unusable discounts -> fallback_discounts + "
                                  "warning")
    fallback_discounts: tuple[float, float, float] = opt((0.5, 1.0, 1.5), ge=0.0, help="KenLM's")
    corpus: CorpusConfig = opt(factory=CorpusConfig)
    seed: int = opt(0, help="sampling")
    temperature: float = opt(1.0, ge=0.0, help="sampling: p ** (1 / temperature); 0 = greedy")
    samples: int = opt(5, ge=1, help="sampling: how many sentences")
    max_tokens: int = opt(100, ge=1, help="sampling: tokens per sentence at most (then cut)")
    top_k: int = opt(10, ge=1, help="predict: how many next tokens to list")
    precision: str = opt("double", choices=("double", "kenlm"), help="kenlm: lmplz's float32")
    memory: str | None = opt(None, help="KenLM -S units ('500M', '2G', '80%'); None: all in "
                             "memory")
    temp_dir: str | None = opt(None, help="where spill files go under a memory budget (None: the "
                               "OS's)")
    prune: tuple[int, ...] = opt((), ge=0, help="lmplz --prune: raw-count thresholds per order")
    prob_bits: int = opt(0, ge=0, le=16, help="binary model: quantise log10 p to 2**bits values")
    backoff_bits: int = opt(0, ge=0, le=16, help="binary model: quantise backoffs the same way")
    engine: str = opt("auto", choices=("auto", "numpy", "numba"), help="train: numpy (the "
                      "reference) or numba (compiled, same bytes); auto: numba from "
                      "compiled_min_tokens on, where Numba imports")
    compiled_min_tokens: int = opt(4_000_000, ge=0, help="train, engine auto: smaller texts "
                                   "skip `import numba` and its cache (~1 s)")
    compiled_min_chars: int = opt(64_000_000, ge=0, help="eval, engine auto: compiled matching "
                                  "from this many characters (it saves ~0.07 us a token)")
    workers: int = opt(1, ge=1, le=256, help="eval: processes scoring the text's 4M-character "
                       "pieces (the same report as one)")
    verify: bool = opt(False, help="binary model: check every table's checksum on load (files up "
                       "to 64 MiB always are)")

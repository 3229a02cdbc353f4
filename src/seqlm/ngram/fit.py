"""`fit`: text in, n-gram model out, the way `lmplz` does it (count, adjust, discount, write).

One call from Python for what `seqlm ngram train` does: cut the training text into the token
stream (`seqlm.ngram.stream`), count orders 1..N (`seqlm.ngram.counts`) and estimate the
smoothing named in the `NgramConfig` (`seqlm.ngram.smoothing`). `fit_counts` estimates from
counts already made, so several smoothings can share one count. Leaves out: a vocabulary
fixed in advance (KenLM's `--limit_vocab_file`).
"""

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram.counts import NgramCounts, check_order, count
from seqlm.ngram.model import PRECISIONS, NgramModel
from seqlm.ngram.smoothing import ESTIMATORS
from seqlm.ngram.stream import build_vocab, check_unit, cut, encode
from seqlm.progress import ProgressCallback


def check_config(config: NgramConfig) -> NgramConfig:
    """Raise `SeqlmError` naming the bad value and its allowed range."""
    check_order(config.order)
    check_unit(config.unit)
    if config.smoothing not in ESTIMATORS:
        raise SeqlmError(f"unknown smoothing {config.smoothing!r}: choose one of "
                         f"{', '.join(ESTIMATORS)}")
    if not config.k > 0:
        raise SeqlmError(f"add-k needs k > 0, got {config.k}: use 1 for Laplace, or "
                         "--smoothing mle for k = 0")
    if not 0 < config.alpha <= 1:
        raise SeqlmError(f"stupid backoff needs 0 < alpha <= 1, got {config.alpha} "
                         "(Brants et al. use 0.4)")
    if config.precision not in PRECISIONS:
        raise SeqlmError(f"unknown precision {config.precision!r}: choose one of "
                         f"{', '.join(PRECISIONS)}")
    if config.precision == "kenlm" and config.smoothing not in ("mle", "kn", "mkn"):
        raise SeqlmError(f"precision 'kenlm' needs an ARPA-form smoothing, not "
                         f"{config.smoothing!r}: use --smoothing mkn, kn or mle")
    return config


def count_text(text: str, config: NgramConfig,
               progress: ProgressCallback | None = None) -> NgramCounts:
    """The counts of orders 1..N of a training text."""
    check_config(config)
    tokens = cut(text, config.unit)  # once for the vocabulary and the stream
    vocab = build_vocab(text, config.unit, tokens)
    stream = encode(text, vocab, config.unit, training=True, tokens=tokens)
    if stream.n_sentences == 0:
        raise SeqlmError("the training text is empty: give a text with at least one line")
    return count(stream, vocab, config.order, progress)


def fit_counts(counts: NgramCounts, config: NgramConfig) -> NgramModel:
    """Estimate the smoothing of `config` from `counts` (its order must match)."""
    check_config(config)
    if counts.order != config.order:
        raise ValueError(f"counts are of order {counts.order}, config asks for {config.order}")
    fallback = config.fallback_discounts if config.discount_fallback else None
    tables = ESTIMATORS[config.smoothing](counts, k=config.k, alpha=config.alpha,
                                          fallback=fallback, precision=config.precision)
    info = {"counts": counts.sizes(), **tables.pop("info", {})}
    return NgramModel(vocab=counts.vocab, unit=config.unit, order=config.order,
                      smoothing=config.smoothing, keys=counts.keys, info=info,
                      precision=config.precision, **tables)


def fit(text: str, config: NgramConfig | None = None,
        progress: ProgressCallback | None = None) -> NgramModel:
    """Train an n-gram model on `text` (one sentence per line) as `config` says."""
    config = config or NgramConfig()
    return fit_counts(count_text(text, config, progress), config)

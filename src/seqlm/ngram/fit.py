"""`fit`: text in, n-gram model out, the way `lmplz` does it (count, adjust, discount, estimate).

One call from Python for what `seqlm ngram train` does in memory: read the training text
into the id stream (`seqlm.ngram.reading`), count orders 1..N (`seqlm.ngram.counts`) and
estimate the smoothing named in the `NgramConfig` (`seqlm.ngram.smoothing`). `fit_counts`
estimates from counts already made, so several smoothings can share one count. A model that
must be built in bounded memory and written to disk without ever being held whole is
`seqlm.ngram.build`'s job. Leaves out: a vocabulary fixed in advance (KenLM's
`--limit_vocab_file`).
"""

from pathlib import Path

from seqlm.config import NgramConfig
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.counts import NgramCounts, count_stream
from seqlm.ngram.model import NgramModel
from seqlm.ngram.prune import Pruning
from seqlm.ngram.reading import read_stream
from seqlm.ngram.smoothing import ESTIMATORS
from seqlm.ngram.spill import Workspace
from seqlm.ngram.stream import check_unit
from seqlm.progress import ProgressCallback


def check_config(config: NgramConfig) -> NgramConfig:
    """What fitting needs beyond the config's own checks (bounds, choices and cross-field rules
    live in `NgramConfig`): a resolved unit, and thresholds that fit the order."""
    check_unit(config.unit)
    Pruning.of(config.prune, config.order)
    return config


def count_text(text: str | Path, config: NgramConfig, progress: ProgressCallback | None = None,
               ws: Workspace | None = None) -> NgramCounts:
    """The counts of orders 1..N of a training text (a string, or a file's `Path`)."""
    check_config(config)
    ws = ws or Workspace(MemoryBudget())
    stream, vocab = read_stream(text, config.unit, ws, progress)
    return count_stream(stream, vocab, config.order, ws, progress)


def fit_counts(counts: NgramCounts, config: NgramConfig, ws: Workspace | None = None,
               progress: ProgressCallback | None = None) -> NgramModel:
    """Estimate the smoothing of `config` from `counts` (its order must match)."""
    check_config(config)
    if counts.order != config.order:
        raise ValueError(f"counts are of order {counts.order}, config asks for {config.order}")
    fallback = config.fallback_discounts if config.discount_fallback else None
    tables = ESTIMATORS[config.smoothing](
        counts, k=config.k, alpha=config.alpha, fallback=fallback, precision=config.precision,
        ws=ws, pruning=Pruning.of(config.prune, config.order), progress=progress)
    keys = tables.pop("keys", None) or [k.array() for k in counts.keys]
    info = {"counts": [len(k) for k in keys], **tables.pop("info", {})}
    return NgramModel(vocab=counts.vocab, unit=config.unit, order=config.order,
                      smoothing=config.smoothing, keys=keys, info=info,
                      precision=config.precision, **tables)


def fit(text: str | Path, config: NgramConfig | None = None,
        progress: ProgressCallback | None = None) -> NgramModel:
    """Train an n-gram model on `text` (one sentence per line) as `config` says."""
    config = config or NgramConfig()
    return fit_counts(count_text(text, config, progress), config, progress=progress)

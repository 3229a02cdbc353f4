"""Frozen dataclasses: the only home of seqlm's defaults.

Every command resolves its options into one of these, saves it into the run manifest (and
the checkpoint, where there is one) and rebuilds from it on load. A default written anywhere
else is a bug. `to_dict` / `from_dict` are the round trip used by manifests and checkpoints.
"""

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from seqlm.errors import SeqlmError

T = TypeVar("T")


@dataclass(frozen=True)
class CorpusConfig:
    """Which corpus, how it is generated or found, and how it is split.

    `name` is a registry name (`seqlm data list`) or `file:PATH`. Generated corpora use
    `seed` and `size`; downloaded ones use `data_dir` (default `$SEQLM_DATA_DIR`, else the
    user cache) or an explicit local `path`.
    """

    name: str = "verbs"
    seed: int = 0
    size: int | None = None  # generated corpora: sentences or pairs; None = the corpus' default
    valid_fraction: float = 0.1
    test_fraction: float = 0.0  # 0 keeps the standard 90/10 train/valid split for text corpora
    data_dir: str | None = None
    path: str | None = None  # a local copy of a downloadable corpus
    encoding_errors: str = "strict"  # or "replace"
    plural: bool = False  # verbs: also plural persons (we, they, the dogs)
    hold_out_verbs: tuple[str, ...] = ()  # verbs: these lemmas appear only in valid/test
    regime: str = "plain"  # dates: "plain" dates or "long" inputs with distractors


@dataclass(frozen=True)
class LabConfig:
    """`seqlm lab`: every experiment built so far, into one run directory with a report."""

    quick: bool = False  # `--quick` finishes in under a minute on 2 cores
    seed: int = 0
    out: str | None = None  # None = runs/lab-<timestamp>
    overwrite: bool = False
    data_dir: str | None = None
    steps: tuple[str, ...] = ()  # empty = every registered step


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists."""
    if not is_dataclass(config):
        raise TypeError(f"not a config dataclass: {config!r}")
    return asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild `cls` from `to_dict` output; unknown keys are an error that names them."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SeqlmError(
            f"{cls.__name__} has no field(s) {', '.join(unknown)}: "
            "the config was written by another seqlm version or edited by hand"
        )
    values = {}
    for name, value in data.items():
        f = known[name]
        inner = f.type if isinstance(f.type, type) else None
        if inner is not None and is_dataclass(inner) and isinstance(value, dict):
            value = from_dict(inner, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    missing = [n for n, f in known.items() if n not in values and f.default is MISSING
               and f.default_factory is MISSING]
    if missing:
        raise SeqlmError(f"{cls.__name__} is missing field(s) {', '.join(missing)}")
    return cls(**values)  # type: ignore[call-arg]


__all__ = ["CorpusConfig", "LabConfig", "to_dict", "from_dict", "field"]


@dataclass(frozen=True)
class NgramConfig:
    """`seqlm ngram`: the n-gram model (order, smoothing, unit), its data, and how to sample."""

    order: int = 3  # 1 to 8
    smoothing: str = "mkn"  # mle, addk, kn, mkn (modified Kneser-Ney, = KenLM), stupid
    unit: str = "word"  # word, char or byte
    k: float = 1.0  # addk: the count added to every n-gram (1 = Laplace)
    alpha: float = 0.4  # stupid backoff: the factor per backed-off order (Brants et al. 2007)
    discount_fallback: bool = True  # kn/mkn: unusable discounts -> fallback_discounts + warning
    fallback_discounts: tuple[float, float, float] = (0.5, 1.0, 1.5)  # KenLM's values
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    seed: int = 0  # sampling
    temperature: float = 1.0  # sampling: p ** (1 / temperature), renormalised
    samples: int = 5  # sampling: how many sentences
    max_tokens: int = 100  # sampling: tokens per sentence at most (then cut, without </s>)
    top_k: int = 10  # predict: how many next tokens to list
    precision: str = "double"  # or "kenlm": float32 as lmplz/query (seqlm.ngram.single_precision)

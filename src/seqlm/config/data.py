"""Which corpus, how it is generated or found, and how it is split."""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt
from seqlm.errors import ConfigError

UNITS = ("char", "word", "byte")


@dataclass(frozen=True)
class CorpusConfig(Config):
    """Which corpus, how it is generated or found, and how it is split.

    `name` is a registry name (`seqlm data list`) or `file:PATH`. Generated corpora use
    `seed` and `size`; downloaded ones use `data_dir` (default `$SEQLM_DATA_DIR`, else the
    user cache) or an explicit local `path`.
    """

    name: str = "verbs"
    seed: int = 0
    size: int | None = opt(None, ge=1)  # generated corpora: sentences or pairs; None = default
    valid_fraction: float = opt(0.1, ge=0.0, lt=1.0)
    test_fraction: float = opt(0.0, ge=0.0, lt=1.0)  # 0 keeps the 90/10 train/valid split
    data_dir: str | None = None
    path: str | None = None  # a local copy of a downloadable corpus
    encoding_errors: str = opt("strict", choices=("strict", "replace"))
    plural: bool = False  # verbs: also plural persons (we, they, the dogs)
    hold_out_verbs: tuple[str, ...] = ()  # verbs: these lemmas appear only in valid/test
    regime: str = opt("plain", choices=("plain", "long"))  # dates: plain or long inputs

    def check(self) -> None:
        if self.valid_fraction + self.test_fraction >= 1.0:
            raise ConfigError("test_fraction", self.test_fraction,
                              f"leaves no training split: the valid fraction "
                              f"{self.valid_fraction:g} plus the test fraction must be below 1")

"""Which corpus, how it is generated or found, and how it is split."""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt
from seqlm.errors import ConfigError

UNITS = ("char", "word", "byte")
SPLITS = ("train", "valid", "test")
ENCODING_ERRORS = ("strict", "replace")  # how undecodable bytes are met: an error, or U+FFFD
REGIMES = ("plain", "long")  # the dates corpus: plain dates, or long inputs with distractors


@dataclass(frozen=True)
class BracketsConfig(Config):
    """The generated `brackets` corpus (a Dyck language; `seqlm.data.corpora.brackets`).

    One string per line. A string has n bracket pairs, n uniform on [min_pairs, max_pairs],
    and nesting depth D uniform on [min_depth, min(max_depth, n)]; among the strings with n
    pairs and depth exactly D every one is equally likely, and every opener's type is uniform
    over the first `types` of `()[]{}<>`. The held-out split (test) is drawn the same way
    with more pairs and deeper nesting than training ever has: n on [max_pairs + 1,
    heldout_max_pairs], D on [max_depth + 1, heldout_max_depth].
    """

    types: int = opt(2, ge=1, le=4, help="k bracket types, 1 to 4: ( ) [ ] { } < >")
    min_pairs: int = opt(1, ge=1)
    max_pairs: int = opt(16, ge=1)
    min_depth: int = opt(1, ge=1)
    max_depth: int = opt(6, ge=1)
    heldout_max_pairs: int = opt(32, ge=2)
    heldout_max_depth: int = opt(10, ge=2)

    def check(self) -> None:
        """Bounds that leave every range non-empty, and a held-out split beyond them."""
        if self.min_pairs > self.max_pairs:
            raise ConfigError("min_pairs", self.min_pairs, f"exceeds max_pairs "
                              f"{self.max_pairs}: lower it")
        if self.min_depth > min(self.max_depth, self.min_pairs):
            raise ConfigError("min_depth", self.min_depth, "exceeds max_depth or min_pairs: "
                              "lower it")
        if self.max_depth > self.max_pairs:
            raise ConfigError("max_depth", self.max_depth, f"exceeds max_pairs "
                              f"{self.max_pairs}: n pairs nest at most n deep")
        if self.heldout_max_pairs <= self.max_pairs or self.heldout_max_depth <= self.max_depth:
            raise ConfigError("heldout_max_pairs", self.heldout_max_pairs, "and "
                              "heldout_max_depth must exceed max_pairs and max_depth: the "
                              "held-out split is longer and deeper than training")


@dataclass(frozen=True)
class CorpusConfig(Config):
    """Which corpus, how it is generated or found, and how it is split.

    `name` is a registry name (`seqlm data list`) or `file:PATH`. Generated corpora use
    `seed` and `size`; downloaded ones use `data_dir` (default `$SEQLM_DATA_DIR`, else the
    user cache) or an explicit local `path`.
    """

    name: str = opt("verbs", help="corpus name (see `seqlm data list`) or file:PATH")
    seed: int = opt(0, help="seed of generated corpora (and of the run, where it has no own)")
    size: int | None = opt(None, ge=1, help="generated corpora: sentences or pairs; None = "
                           "default")
    valid_fraction: float = opt(0.1, ge=0.0, lt=1.0, help="share of the text held out for "
                                "validation")
    test_fraction: float = opt(0.0, ge=0.0, lt=1.0, help="0 keeps the 90/10 train/valid split")
    data_dir: str | None = opt(None, help="folder of downloaded corpora (None: $SEQLM_DATA_DIR "
                               "or ~/.cache/seqlm)")
    path: str | None = opt(None, help="a local copy of a downloadable corpus")
    encoding_errors: str = opt("strict", choices=ENCODING_ERRORS, help="strict: undecodable bytes "
                               "are an error naming their offset; replace: U+FFFD")
    plural: bool = opt(False, help="verbs: also plural persons (we, they, the dogs)")
    hold_out_verbs: tuple[str, ...] = opt((), help="verbs: these lemmas appear only in valid/test")
    regime: str = opt("plain", choices=REGIMES, help="dates: plain dates or long inputs with "
                      "distractors")
    hold_out_formats: tuple[str, ...] = opt((), help="dates: these surface formats never appear "
                                                     "in the corpus; they form a separate test of "
                                                     "generalisation to unseen formats (`seqlm "
                                                     "seq2seq eval --held-out-formats`)")
    include: tuple[str, ...] = opt((), help="file:DIR: read only files whose name or path "
                                   "matches one of these comma-separated globs, e.g. '*.c,*.h'")
    brackets: BracketsConfig = opt(factory=BracketsConfig, help="the brackets corpus")

    def check(self) -> None:
        if self.valid_fraction + self.test_fraction >= 1.0:
            raise ConfigError("test_fraction", self.test_fraction,
                              f"leaves no training split: the valid fraction "
                              f"{self.valid_fraction:g} plus the test fraction must be below 1")


@dataclass(frozen=True)
class DataShowConfig(Config):
    """`seqlm data show`: a corpus's sizes, vocabulary, splits, checksum and sample lines."""

    corpus: CorpusConfig = opt(factory=CorpusConfig)
    unit: str = opt("", choices=("", *UNITS), help="tokenization for the counts; '': the "
                    "corpus's own")

"""The corpus registry: every corpus seqlm knows by name, and `file:PATH` for any text.

A `Corpus` is plain text per split (train / valid / test), its sha256 and where it came from.
Pair corpora (dates) store one `source<TAB>target` per line and expose `pairs(split)`.
`details` adds what else identifies the data (python-stdlib: the Python version and files).
Loaders are imported only when their corpus is asked for, so listing is instant.
Leaves out: streaming corpora larger than memory.
"""

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from seqlm.config import CorpusConfig
from seqlm.errors import ConfigError, SeqlmError
from seqlm.progress import ProgressCallback


@dataclass(frozen=True)
class Corpus:
    name: str
    splits: dict[str, str]  # split name -> text; a split may be empty (e.g. no test split)
    sha256: str  # of the source file, or of the generated text
    source: str  # URL or path, or "generated (seed=...)"
    description: str
    default_unit: str  # char, word or byte
    details: dict = field(default_factory=dict)  # more identity (e.g. Python version, files)

    def text(self, split: str) -> str:
        if split not in self.splits:
            raise SeqlmError(f"unknown split {split!r}: choose one of {', '.join(self.splits)}")
        text = self.splits[split]
        if not text.strip():
            raise SeqlmError(
                f"the {split} split of {self.name} is empty (its fraction is 0): pick another "
                f"split, or split the corpus with a non-zero {split} fraction")
        return text

    def pairs(self, split: str) -> list[tuple[str, str]]:
        """`(source, target)` pairs of a pair corpus (one `source<TAB>target` per line)."""
        out = []
        for number, line in enumerate(self.text(split).splitlines(), 1):
            if "\t" not in line:
                raise SeqlmError(f"{self.name} {split} line {number} has no TAB: not a pair corpus")
            source, target = line.split("\t", 1)
            out.append((source, target))
        return out

    def split_sizes(self) -> dict[str, int]:
        """Characters per split."""
        return {name: len(text) for name, text in self.splits.items()}

    def identity(self) -> dict:
        """What a manifest records to say which data a run saw."""
        return {"name": self.name, "sha256": self.sha256, "source": self.source,
                "split_chars": self.split_sizes(), **self.details}


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    description: str
    default_unit: str
    loader: str  # "module:function" taking (CorpusConfig, ProgressCallback | None) -> Corpus
    reads: tuple[str, ...] = ()  # the corpus-specific options (SPECIFIC) it uses


# options that only some corpora read; giving one to a corpus that ignores it is an error
SPECIFIC = ("size", "path", "encoding_errors", "plural", "hold_out_verbs", "regime",
            "hold_out_formats", "include", "brackets")


REGISTRY: dict[str, CorpusSpec] = {
    spec.name: spec
    for spec in [
        CorpusSpec("tinyshakespeare", "Tiny Shakespeare (char-rnn), 1.1 MB, downloaded once",
                   "char", "seqlm.data.corpora.tinyshakespeare:load", ("path",)),
        CorpusSpec("verbs", "generated English verb conjugations and agreement sentences",
                   "word", "seqlm.data.corpora.verbs:load", ("size", "plural", "hold_out_verbs")),
        CorpusSpec("dates", "generated human-written dates -> ISO YYYY-MM-DD pairs",
                   "char", "seqlm.data.corpora.dates:load",
                   ("size", "regime", "hold_out_formats")),
        CorpusSpec("brackets", "generated Dyck strings; the test split is deeper and longer",
                   "char", "seqlm.data.corpora.brackets:load", ("size", "brackets")),
        CorpusSpec("python-stdlib", "the .py sources of this Python's standard library, "
                   "no tests (~13 MB)", "char", "seqlm.data.corpora.python_stdlib:load",
                   ("encoding_errors",)),
        *(CorpusSpec(name, description, unit, "seqlm.data.corpora.benchmarks:load", ("path",))
          for name, description, unit in (
              ("enwik8", "enwik8 (Hutter Prize), 100 MB: 90M/5M/5M bytes, downloaded once",
               "byte"),
              ("text8", "text8 (cleaned Wikipedia), 100M chars: 90M/5M/5M, downloaded once",
               "char"),
              ("ptb", "Penn Treebank (Mikolov's 10k words): its train/valid/test files",
               "word"),
              ("wikitext2", "WikiText-2 (tokenized, <unk> kept): its train/valid/test files",
               "word"))),
    ]
}
FILE_PREFIX = "file:"


FILE_SPEC = CorpusSpec("file:PATH", "any UTF-8 text file or folder of files", "char",
                       "seqlm.data.corpora.text:load", ("encoding_errors", "include"))


def list_corpora() -> list[CorpusSpec]:
    return [*REGISTRY.values(), FILE_SPEC]


def check_options(config: CorpusConfig, spec: CorpusSpec) -> None:
    """An option that this corpus does not read, set to anything but its default, is an
    error rather than silently ignored (`--size` for Tiny Shakespeare, `--plural` for dates)."""
    default = CorpusConfig()
    for name in SPECIFIC:
        if name not in spec.reads and getattr(config, name) != getattr(default, name):
            raise ConfigError(name, getattr(config, name),
                              f"means nothing for the {spec.name} corpus: drop it")


def load_corpus(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    """Load (generate, read or download) the corpus named in `config`."""
    if config.name.startswith(FILE_PREFIX):
        spec = FILE_SPEC
    elif config.name in REGISTRY:
        spec = REGISTRY[config.name]
    else:
        known = ", ".join([*REGISTRY, "file:PATH"])
        raise SeqlmError(f"unknown corpus {config.name!r}: known corpora are {known}")
    check_options(config, spec)
    module, function = spec.loader.split(":")
    load: Callable[[CorpusConfig, ProgressCallback | None], Corpus] = getattr(
        importlib.import_module(module), function)
    return load(config, progress)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_by_fraction(text: str, valid_fraction: float, test_fraction: float) -> dict[str, str]:
    """Contiguous character split: train first, then valid, then test (nanoGPT's 90/10 when
    test_fraction is 0)."""
    check_fractions(valid_fraction, test_fraction)
    n = len(text)
    train_end = int(n * (1.0 - valid_fraction - test_fraction))
    valid_end = int(n * (1.0 - test_fraction))
    return {"train": text[:train_end], "valid": text[train_end:valid_end], "test": text[valid_end:]}


def split_by_line(lines: list[str], valid_fraction: float, test_fraction: float) -> dict[str, str]:
    """Contiguous split by whole lines (sentences or pairs), each split newline-terminated."""
    check_fractions(valid_fraction, test_fraction)
    n = len(lines)
    train_end = int(round(n * (1.0 - valid_fraction - test_fraction)))
    valid_end = int(round(n * (1.0 - test_fraction)))

    def join(part: list[str]) -> str:
        return "".join(line + "\n" for line in part)

    return {"train": join(lines[:train_end]), "valid": join(lines[train_end:valid_end]),
            "test": join(lines[valid_end:])}


def check_fractions(valid_fraction: float, test_fraction: float) -> None:
    if not (0.0 <= valid_fraction < 1.0 and 0.0 <= test_fraction < 1.0
            and valid_fraction + test_fraction < 1.0):
        raise SeqlmError(
            f"split fractions valid={valid_fraction}, test={test_fraction} are invalid: each must "
            "be in [0, 1) and together below 1"
        )

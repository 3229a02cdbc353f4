"""`dates`: generated pairs of a human-written date and its ISO form, `source<TAB>YYYY-MM-DD`.

The task of the seq2seq experiments ("March 14, 2024" -> "2024-03-14", Bahdanau et al.
2015's attention on a toy the size of joeynmt's reverse task). Dates are uniform over
1950-01-01..2049-12-31; the format is uniform over `FORMATS` (`date_formats`, 29 surface
forms); the label is `date.isoformat()`, the calendar year. Two regimes:

- `plain`: the rendered date alone;
- `long`: the date inside a 40-120 character message with other digits and words
  (`date_contexts`), where a fixed-vector encoder is a real bottleneck.

Every source is distinct (a repeat is redrawn), so no source is shared between splits, and
every source holds exactly one reading of its date (`locate_date`). Formats named in
`hold_out_formats` never appear in the corpus; `held_out_pairs` renders fresh dates in them
alone, to measure generalisation to surface forms a model never saw. The corpus splits by
line, train first; with `test_fraction` 0 it still carves a test split of `DEFAULT_TEST_FRACTION`,
because seq2seq reports held-out accuracy on it. Leaves out: dates outside 1950-2049.
"""

import random
from dataclasses import dataclass
from datetime import date

from seqlm.config import CorpusConfig
from seqlm.data.corpora import Corpus, sha256_text, split_by_line
from seqlm.data.corpora.date_contexts import embed
from seqlm.data.corpora.date_formats import FORMATS, locate_date, parse, render
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report

FIRST_DATE, LAST_DATE = date(1950, 1, 1), date(2049, 12, 31)
REGIMES = {"plain": "the date alone", "long": "the date inside a 40-120 character message"}
DEFAULT_SIZE = 20_000  # pairs, when `CorpusConfig.size` is None
DEFAULT_TEST_FRACTION = 0.1  # used when `CorpusConfig.test_fraction` is 0
REPORT_EVERY = 2_000  # pairs between progress reports

__all__ = ["FORMATS", "render", "parse", "locate_date", "DateExample", "generate_examples",
           "generate_pairs", "load"]


@dataclass(frozen=True)
class DateExample:
    source: str
    target: str  # YYYY-MM-DD
    format: str  # name in FORMATS
    span: tuple[int, int]  # source[span[0]:span[1]] is the date as rendered

    @property
    def date(self) -> date:
        return date.fromisoformat(self.target)


def random_date(rng: random.Random) -> date:
    """Uniform over FIRST_DATE..LAST_DATE, both included."""
    return date.fromordinal(rng.randint(FIRST_DATE.toordinal(), LAST_DATE.toordinal()))


def draw_example(rng: random.Random, regime: str,
                 formats: tuple[str, ...] | None = None) -> DateExample:
    d = random_date(rng)
    fmt = rng.choice(list(formats or FORMATS))
    rendered = render(d, fmt, rng)
    if regime == "plain":
        return DateExample(rendered, d.isoformat(), fmt, (0, len(rendered)))
    embedded = embed(d, rendered, rng)
    return DateExample(embedded.source, d.isoformat(), fmt, embedded.span)


def check_regime(regime: str) -> None:
    if regime not in REGIMES:
        raise SeqlmError(f"unknown dates regime {regime!r}: choose one of {', '.join(REGIMES)} "
                         "(--regime)")


def training_formats(hold_out: tuple[str, ...]) -> tuple[str, ...]:
    """The formats a corpus may use: every one but those held out (which must exist)."""
    unknown = [f for f in hold_out if f not in FORMATS]
    if unknown:
        raise SeqlmError(f"unknown date format(s) {', '.join(unknown)}: choose from "
                         f"{', '.join(FORMATS)}")
    kept = tuple(f for f in FORMATS if f not in hold_out)
    if not kept:
        raise SeqlmError("every date format is held out: keep at least one for training")
    return kept


def generate_examples(seed: int, n: int, regime: str = "plain",
                      progress: ProgressCallback | None = None,
                      formats: tuple[str, ...] | None = None, stream: str = "dates",
                      ) -> list[DateExample]:
    """`n` examples with distinct sources in `formats` (default: all), the same for the same
    `(seed, regime, formats)`."""
    check_regime(regime)
    if n < 1:
        raise SeqlmError(f"dates size must be at least 1, got {n}: pass --size N with N >= 1")
    rng = random.Random(f"{stream}/{regime}/{seed}")  # str seeds hash with sha512: stable
    examples: list[DateExample] = []
    seen: set[str] = set()
    while len(examples) < n:
        example = draw_example(rng, regime, formats)
        if example.source in seen:  # a repeat would leak between splits
            continue
        seen.add(example.source)
        examples.append(example)
        if len(examples) % REPORT_EVERY == 0 or len(examples) == n:
            report(progress, Progress(f"dates ({regime})", len(examples), n, unit="pairs"))
    return examples


def generate_pairs(seed: int, n: int, regime: str = "plain") -> list[tuple[str, str]]:
    """`(source, YYYY-MM-DD)` pairs, deterministic per `(seed, regime)`."""
    return [(e.source, e.target) for e in generate_examples(seed, n, regime)]


def held_out_pairs(config: CorpusConfig, n: int) -> dict[str, list[tuple[str, str]]]:
    """`n` pairs per held-out format of `config` (its regime and seed), drawn apart from the
    corpus; no source is one of the corpus's (those use other formats)."""
    training_formats(config.hold_out_formats)
    return {fmt: [(e.source, e.target) for e in generate_examples(
        config.seed, n, config.regime, formats=(fmt,), stream=f"dates-held-out/{fmt}")]
        for fmt in config.hold_out_formats}


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    size = DEFAULT_SIZE if config.size is None else config.size
    formats = training_formats(config.hold_out_formats) if config.hold_out_formats else None
    examples = generate_examples(config.seed, size, config.regime, progress, formats)
    lines = [f"{e.source}\t{e.target}" for e in examples]
    test_fraction = config.test_fraction or DEFAULT_TEST_FRACTION
    splits = split_by_line(lines, config.valid_fraction, test_fraction)
    text = "".join(line + "\n" for line in lines)
    return Corpus(
        name="dates",
        splits=splits,
        sha256=sha256_text(text),
        source=f"generated (seed={config.seed}, regime={config.regime}, size={size}"
               + (f", without {', '.join(config.hold_out_formats)})"
                  if config.hold_out_formats else ")"),
        description=(f"generated dates -> ISO YYYY-MM-DD, regime {config.regime} "
                     f"({REGIMES[config.regime]}), {size:,} pairs in {len(FORMATS)} formats"),
        default_unit="char",
    )

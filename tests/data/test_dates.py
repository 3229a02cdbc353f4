"""The `dates` corpus: every label is recoverable from its source, in both regimes."""

import json
import random
import re
from collections import Counter
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlm.config import CorpusConfig
from seqlm.data.corpora import load_corpus, sha256_text
from seqlm.data.corpora.date_formats import (
    CASINGS,
    FORMATS,
    Variant,
    find_dates,
    locate_date,
    ordinal,
    parse,
    render,
)
from seqlm.data.corpora.dates import (
    DEFAULT_SIZE,
    DEFAULT_TEST_FRACTION,
    FIRST_DATE,
    LAST_DATE,
    generate_examples,
    generate_pairs,
)
from seqlm.errors import SeqlmError

# an oracle independent of datetime.weekday(): 1950-01-01 was a Sunday
SUNDAY_FIRST = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
WEEKDAY_WORD = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.IGNORECASE)


def true_weekday(d: date) -> str:
    return SUNDAY_FIRST[(d - date(1950, 1, 1)).days % 7]


@pytest.fixture(scope="module")
def plain():
    return generate_examples(seed=1, n=6000, regime="plain")


@pytest.fixture(scope="module")
def long():
    return generate_examples(seed=1, n=2000, regime="long")


def test_at_least_twenty_formats_each_with_its_example():
    assert len(FORMATS) >= 20
    for fmt in FORMATS.values():
        assert fmt.render_variant(date(2024, 3, 14), Variant()) == fmt.example
        assert fmt.parse(fmt.example) == date(2024, 3, 14)


@pytest.mark.parametrize(("d", "fmt", "expected"), [
    (date(2024, 3, 14), "weekday_month_day_year", "Thursday, March 14, 2024"),
    (date(2000, 1, 1), "wkd_day_mon_year", "Sat, 1 Jan 2000"),
    (date(1950, 1, 1), "weekday_the_ordinal_of_month", "Sunday, the 1st of January, 1950"),
    (date(2049, 12, 31), "weekday_day_month_year", "Friday 31 December 2049"),
    # ISO week-numbering years differ from the calendar year on these days
    (date(2024, 12, 30), "iso", "2024-12-30"),
    (date(2021, 1, 1), "month_day_year", "January 1, 2021"),
    (date(2010, 1, 3), "ddmonyyyy", "03Jan2010"),
    (date(2024, 5, 2), "mon_dot_day_year", "May 2 2024"),  # no dot: "May" is not cut
    (date(2024, 9, 2), "mon_dot_day_year", "Sep. 2 2024"),
    (date(2024, 2, 29), "mdy_slash", "02/29/2024"),
    (date(1999, 12, 22), "month_ordinal_year", "December 22nd, 1999"),
    (date(2013, 6, 11), "the_ordinal_of_month", "the 11th of June 2013"),
    (date(2023, 8, 23), "mon_ordinal_year", "Aug 23rd 2023"),
])
def test_known_renderings(d, fmt, expected):
    assert FORMATS[fmt].render_variant(d, Variant()) == expected
    assert parse(expected, fmt) == d


def test_ordinal_suffixes():
    got = [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 24, 30, 31)]
    assert got == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                   "24th", "30th", "31st"]


def test_variants_change_case_spacing_and_padding():
    fmt, d = FORMATS["weekday_month_day_year"], date(2024, 3, 4)
    assert fmt.render_variant(d, Variant("upper", wide=True)) == "MONDAY,  MARCH  4,  2024"
    assert fmt.render_variant(d, Variant("lower")) == "monday, march 4, 2024"
    assert FORMATS["dmy_dot"].render_variant(d, Variant(padded=False)) == "4.3.2024"


@given(st.dates(FIRST_DATE, LAST_DATE), st.sampled_from(sorted(FORMATS)),
       st.sampled_from(CASINGS), st.booleans(), st.booleans())
def test_every_variant_parses_back(d, fmt, casing, wide, padded):
    text = FORMATS[fmt].render_variant(d, Variant(casing, wide, padded))
    assert parse(text, fmt) == d
    assert locate_date(text).date == d  # no other format reads it as another day


@pytest.mark.parametrize(("text", "fmt"), [
    ("Friday, March 14, 2024", "weekday_month_day_year"),  # 2024-03-14 is a Thursday
    ("March 14st, 2024", "month_ordinal_year"),
    ("30.02.2024", "dmy_dot"),
    ("14/03/2024", "mdy_slash"),  # day-first is not what `/` means here
    ("March 14, 2024", "mon_day_year"),  # full name in an abbreviated format
])
def test_parse_refuses_what_is_not_that_date(text, fmt):
    with pytest.raises(ValueError):
        parse(text, fmt)


@pytest.mark.parametrize("text", [
    "Meet on 14 03 2024 12 05 at noon",  # "2024 12 05" is a second date
    "From March 1, 2024 to March 2, 2024",
    "no date here, ref 4471-B at 14:30",
])
def test_locate_date_refuses_ambiguous_text(text):
    with pytest.raises(ValueError):
        locate_date(text)


def check_recoverable(examples):
    for e in examples:
        d = date.fromisoformat(e.target)
        assert FIRST_DATE <= d <= LAST_DATE
        start, end = e.span
        assert parse(e.source[start:end], e.format) == d, e
        found = locate_date(e.source)
        assert (found.date, found.start, found.end) == (d, start, end), e
        assert "\t" not in e.source and "\n" not in e.source


def test_plain_labels_are_recoverable(plain):
    check_recoverable(plain)
    assert all(e.span == (0, len(e.source)) for e in plain)
    assert set(Counter(e.format for e in plain)) == set(FORMATS)


def test_long_labels_are_recoverable(long):
    check_recoverable(long)
    assert set(Counter(e.format for e in long)) == set(FORMATS)


def test_long_sources_carry_distractors_and_fit_the_length(long):
    lengths = [len(e.source) for e in long]
    assert min(lengths) >= 40 and max(lengths) <= 120
    assert max(lengths) - min(lengths) > 60  # spread over the range, for length buckets
    for e in long:
        outside = e.source[:e.span[0]] + " " + e.source[e.span[1]:]
        assert re.search(r"\d", outside), e  # other digits than the date's
        assert all(m.start >= e.span[0] and m.end <= e.span[1] for m in find_dates(e.source))


def test_weekdays_are_true(plain, long):
    checked = 0
    for e in plain + long:
        if "weekday" not in e.format and "wkd" not in e.format:
            continue
        words = WEEKDAY_WORD.findall(e.source[e.span[0]:e.span[1]])
        assert len(words) == 1, e
        assert true_weekday(e.date).startswith(words[0].lower()), e
        checked += 1
    assert checked > 500


def test_dates_cover_the_century(plain):
    years = Counter(e.date.year for e in plain)
    assert set(years) == set(range(1950, 2050))
    assert max(years.values()) < 3 * min(years.values())  # roughly uniform


def test_generation_is_deterministic_per_seed():
    assert generate_pairs(3, 300) == generate_pairs(3, 300)
    assert generate_pairs(3, 300) != generate_pairs(4, 300)
    assert generate_pairs(3, 200, "long") == generate_pairs(3, 200, "long")
    assert generate_pairs(3, 200, "long") != generate_pairs(4, 200, "long")


def test_render_draws_variants_from_the_rng():
    outs = {render(date(2024, 3, 14), "month_ordinal_year", random.Random(s)) for s in range(40)}
    assert {"March 14th, 2024", "MARCH 14TH, 2024", "march 14th, 2024"} <= outs


@pytest.mark.parametrize("regime", ["plain", "long"])
def test_corpus_splits_never_share_a_source(regime):
    corpus = load_corpus(CorpusConfig(name="dates", regime=regime, size=1500, seed=2))
    sources = {split: {s for s, _ in corpus.pairs(split)} for split in ("train", "valid", "test")}
    assert [len(sources[s]) for s in ("train", "valid", "test")] == [1200, 150, 150]
    assert not sources["train"] & sources["valid"]
    assert not sources["train"] & sources["test"]
    assert not sources["valid"] & sources["test"]
    assert regime in corpus.description and corpus.default_unit == "char"
    text = "".join(corpus.splits[s] for s in ("train", "valid", "test"))
    assert corpus.sha256 == sha256_text(text)


def test_corpus_defaults_and_determinism():
    config = CorpusConfig(name="dates")
    corpus = load_corpus(config)
    assert len(corpus.splits["train"].splitlines()) == round(DEFAULT_SIZE * 0.8)
    assert len(corpus.pairs("test")) == round(DEFAULT_SIZE * DEFAULT_TEST_FRACTION)
    assert load_corpus(config).splits == corpus.splits
    assert load_corpus(CorpusConfig(name="dates", seed=1)).sha256 != corpus.sha256
    explicit = load_corpus(CorpusConfig(name="dates", size=1000, test_fraction=0.3))
    assert len(explicit.pairs("test")) == 300


@pytest.mark.parametrize(("options", "needle"), [
    ({"regime": "short"}, "regime = 'short' is not a choice: choose one of plain, long"),
    ({"size": 0}, "size = 0 is out of range")])
def test_bad_options_name_the_fix(options, needle):
    with pytest.raises(SeqlmError, match=needle):
        load_corpus(CorpusConfig(name="dates", **options))


def test_cli_show_long_regime(cli):
    result = cli("data", "show", "--corpus", "dates", "--regime", "long", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert "long" in summary["description"]
    assert summary["splits"]["test"]["lines"] == round(DEFAULT_SIZE * DEFAULT_TEST_FRACTION)
    source, target = summary["samples"][0].split("\t")
    assert 40 <= len(source) <= 120 and locate_date(source).date == date.fromisoformat(target)


# --- the registry over the whole range: every date, every format, every padding and spacing

def every_date() -> list[date]:
    return [date.fromordinal(n) for n in range(FIRST_DATE.toordinal(),
                                                LAST_DATE.toordinal() + 1)]


def render_all(fmt, variant: Variant) -> np.ndarray:
    """`fmt` rendered for every day at once (NumPy string arithmetic), lower-cased bytes."""
    pieces = []
    for is_field, text in fmt.parts:
        if not is_field:
            pieces.append(np.array([text.replace(" ", "  " if variant.wide else " ")], "S"))
        elif text in NAMES:
            pieces.append(NAMES[text])
        else:
            value = {"yyyy": YEARS, "yy": YEARS % 100, "mm": MONTHS_, "m": MONTHS_,
                     "dd": DAYS, "d": DAYS, "day": DAYS}[text]
            width = 4 if text == "yyyy" else 2 if text in ("yy", "mm", "dd") or (
                text in ("m", "d") and variant.padded) else 1
            pieces.append(np.char.zfill(value.astype("S4"), width))
    out = pieces[0]
    for piece in pieces[1:]:
        out = np.char.add(out, piece)
    return np.char.lower(out)


DAYS_ALL = every_date()
YEARS = np.array([d.year for d in DAYS_ALL])
MONTHS_ = np.array([d.month for d in DAYS_ALL])
DAYS = np.array([d.day for d in DAYS_ALL])
WEEKDAYS_ = np.array([d.weekday() for d in DAYS_ALL])


def names() -> dict[str, np.ndarray]:
    """The name-valued fields of every day, by table lookup."""
    from seqlm.data.corpora.date_formats import MONTHS, WEEKDAYS, field_text

    months = np.array(MONTHS, "S")
    by_month = {f: np.array([field_text(f, date(2024, m, 1), True) for m in range(1, 13)],
                            "S") for f in ("mon", "mon.")}
    return {"month": months[MONTHS_ - 1], "mon": by_month["mon"][MONTHS_ - 1],
            "mon.": by_month["mon."][MONTHS_ - 1],
            "weekday": np.array(WEEKDAYS, "S")[WEEKDAYS_],
            "wkd": np.array([w[:3] for w in WEEKDAYS], "S")[WEEKDAYS_],
            "ord": np.array([ordinal(n) if n else "" for n in range(32)], "S")[DAYS]}


NAMES = names()


@pytest.mark.slow
def test_no_rendering_names_two_dates_across_the_registry():
    """Over every date of 1950-2049, every format and every padding and spacing variant
    (casing folded): a string that two formats produce names the same day in both."""
    ordinals = np.array([d.toordinal() for d in DAYS_ALL])
    strings, owners = [], []
    for fmt in FORMATS.values():
        for variant in {Variant(padded=p, wide=w) for p in (True, False)
                        for w in (False, " " in fmt.template)}:
            strings.append(render_all(fmt, variant))
            owners.append(ordinals)
    strings, owners = np.concatenate(strings), np.concatenate(owners)
    _, group = np.unique(strings, return_inverse=True)
    low = np.full(group.max() + 1, np.iinfo(np.int64).max)
    high = np.full(group.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(low, group, owners)
    np.maximum.at(high, group, owners)
    clash = np.flatnonzero(low != high)
    assert clash.size == 0, strings[np.isin(group, clash)][:10]


def test_two_digit_years_parse_back_over_the_whole_range():
    two_digit = [f for f in FORMATS.values() if "{yy}" in f.template]
    assert len(two_digit) >= 7
    for fmt in two_digit:
        for d in DAYS_ALL[::3] + [date(1950, 1, 1), date(1999, 12, 31), date(2000, 1, 1),
                                  date(2049, 12, 31)]:
            assert fmt.parse(fmt.render_variant(d, Variant(padded=False))) == d


@pytest.mark.parametrize(("d", "fmt", "expected"), [
    (date(2024, 3, 14), "dmy_dot_yy", "14.03.24"),
    (date(1950, 1, 2), "mdy_slash_yy", "01/02/50"),
    (date(2049, 12, 31), "dmy_dash_yy", "31-12-49"),
    (date(1999, 7, 4), "dd_mon_yy_dash", "04-Jul-99"),
    (date(2024, 3, 14), "dmy_dash_spaced", "14 - 03 - 2024"),
    (date(2024, 3, 1), "the_ordinal_of_month_comma", "the 1st of March, 2024"),
    (date(2024, 3, 22), "ordinal_of_month_year", "22nd of March 2024"),
])
def test_new_forms_render_and_parse(d, fmt, expected):
    assert FORMATS[fmt].render_variant(d, Variant()) == expected
    assert parse(expected, fmt) == d

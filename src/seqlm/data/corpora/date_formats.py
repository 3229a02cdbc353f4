"""Surface formats of a calendar date: render one, parse it back, find dates inside text.

Each format is a template of fields ("{month} {day}, {yyyy}") with one fixed field order.
Rendering draws the variants a format allows from the caller's RNG: casing (Title as
written, UPPER, lower), spacing (one space or two where the template has one) and, for
`{m}`/`{d}`, zero padding. Parsing is the exact inverse: a regex built from the same
template, case-insensitive, that also checks the weekday and the ordinal suffix.

No source may mean two dates, so one separator carries one numeric order across the whole
registry: `/` is month-first (US), `.`, `-` and space are day-first, and year-first formats
put the 4-digit year first. Two-digit years (`{yy}`) stand last only: the corpus's range is
exactly the hundred years 1950-2049, so 50-99 read as 1950-1999 and 00-49 as 2000-2049
(`PIVOT`), and "14.03.24" is one date; a year-first "24-03-14" would read two ways next to
the day-first "14-03-24", so year-first layouts keep four digits. Years are always the
calendar year `date.year`, never an ISO week-numbering year. English names are written
here, so nothing depends on the locale.
Leaves out: other languages, times of day, relative dates ("next Friday").
"""

import random
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CASINGS = ("title", "upper", "lower")  # "title": names capitalised as written in the template
WIDE_SPACE_PROBABILITY = 0.15  # how often a format's spaces are rendered doubled
BOUNDARY_BEFORE = r"(?<![0-9A-Za-z])"  # a date inside text is not glued to a word or number
BOUNDARY_AFTER = r"(?![0-9A-Za-z])"
PIVOT = 50  # two-digit years: 50-99 are 1950-1999, 00-49 are 2000-2049 (the corpus's range)


def ordinal(day: int) -> str:
    """1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd 23rd ... 31st."""
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _alternation(group: str, names: tuple[str, ...]) -> str:
    return f"(?P<{group}>{'|'.join(n.lower() for n in names)})"


# field -> regex; `month_name`/`month_abbr`/`weekday*` are looked up by name after the match
FIELD_PATTERNS = {
    "yyyy": r"(?P<year>\d{4})",
    "yy": r"(?P<yy>\d{2})",
    "mm": r"(?P<month>\d{2})",
    "dd": r"(?P<day>\d{2})",
    "m": r"(?P<month>\d{1,2})",
    "d": r"(?P<day>\d{1,2})",
    "day": r"(?P<day>\d{1,2})",
    "ord": r"(?P<day>\d{1,2})(?P<suffix>st|nd|rd|th)",
    "month": _alternation("month_name", MONTHS),
    "mon": _alternation("month_abbr", tuple(m[:3] for m in MONTHS)),
    "mon.": _alternation("month_abbr", tuple(m[:3] for m in MONTHS)) + r"\.?",
    "weekday": _alternation("weekday", WEEKDAYS),
    "wkd": _alternation("weekday_abbr", tuple(w[:3] for w in WEEKDAYS)),
}


@dataclass(frozen=True)
class Variant:
    """The choices one rendering makes inside its format."""

    casing: str = "title"
    wide: bool = False  # every template space rendered as two spaces
    padded: bool = True  # `{m}` and `{d}` zero-padded to two digits


def field_text(name: str, d: date, padded: bool) -> str:
    month_name, weekday = MONTHS[d.month - 1], WEEKDAYS[d.weekday()]
    values = {
        "yyyy": f"{d.year:04d}", "yy": f"{d.year % 100:02d}",
        "mm": f"{d.month:02d}", "dd": f"{d.day:02d}",
        "m": f"{d.month:02d}" if padded else str(d.month),
        "d": f"{d.day:02d}" if padded else str(d.day),
        "day": str(d.day), "ord": ordinal(d.day), "month": month_name, "mon": month_name[:3],
        # the abbreviation's dot marks a cut: "Mar." but "May"
        "mon.": month_name[:3] + ("." if len(month_name) > 3 else ""),
        "weekday": weekday, "wkd": weekday[:3],
    }
    return values[name]


@dataclass(frozen=True)
class DateFormat:
    """One surface form: `template` fields in braces, everything else literal."""

    name: str
    template: str
    example: str  # what 2024-03-14 looks like, Title casing, padded, single spaces

    @cached_property
    def parts(self) -> list[tuple[bool, str]]:
        """(is_field, text) pieces of the template in order."""
        pieces = re.split(r"(\{[^}]+\})", self.template)
        return [(p.startswith("{"), p.strip("{}")) for p in pieces if p]

    @cached_property
    def has_letters(self) -> bool:
        """Casing only matters (and is only drawn) where the rendering has letters."""
        return any(c.isalpha() for c in self.render_variant(date(2024, 3, 14), Variant()))

    @cached_property
    def core_pattern(self) -> str:
        out = []
        for is_field, text in self.parts:
            out.append(FIELD_PATTERNS[text] if is_field
                       else re.escape(text).replace(r"\ ", " ").replace(" ", " +"))
        return "".join(out)

    @cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.core_pattern, re.IGNORECASE)

    @cached_property
    def scanner(self) -> re.Pattern:
        """Every start position (a lookahead overlaps matches) where a whole date stands."""
        return re.compile(f"{BOUNDARY_BEFORE}(?=({self.core_pattern}){BOUNDARY_AFTER})",
                          re.IGNORECASE)

    def render_variant(self, d: date, variant: Variant) -> str:
        space = "  " if variant.wide else " "
        text = "".join(field_text(t, d, variant.padded) if is_field else t.replace(" ", space)
                       for is_field, t in self.parts)
        if variant.casing == "upper":
            return text.upper()
        if variant.casing == "lower":
            return text.lower()
        return text

    def draw_variant(self, rng: random.Random) -> Variant:
        """Always three draws, so the RNG stream does not depend on the format."""
        casing = rng.choice(CASINGS)
        wide = rng.random() < WIDE_SPACE_PROBABILITY and " " in self.template
        padded = rng.random() < 0.5
        return Variant(casing if self.has_letters else "title", wide, padded)

    def render(self, d: date, rng: random.Random) -> str:
        return self.render_variant(d, self.draw_variant(rng))

    def parse(self, text: str) -> date:
        """The date `text` names in this format; ValueError if it is not one."""
        match = self.regex.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not in format {self.name} ({self.example})")
        return date_from_match(match)


def date_from_match(match: re.Match) -> date:
    """Build the date from a format regex's named groups; ValueError if impossible."""
    groups = {k: v.lower() for k, v in match.groupdict().items() if v is not None}
    if "month_name" in groups:
        month = [m.lower() for m in MONTHS].index(groups["month_name"]) + 1
    elif "month_abbr" in groups:
        month = [m[:3].lower() for m in MONTHS].index(groups["month_abbr"]) + 1
    else:
        month = int(groups["month"])
    if "yy" in groups:
        yy = int(groups["yy"])
        year = (1900 if yy >= PIVOT else 2000) + yy
    else:
        year = int(groups["year"])
    d = date(year, month, int(groups["day"]))  # ValueError if no such day
    if "suffix" in groups and ordinal(d.day) != f"{d.day}{groups['suffix']}":
        raise ValueError(f"wrong ordinal suffix {groups['day']}{groups['suffix']}")
    weekday = groups.get("weekday") or groups.get("weekday_abbr")
    if weekday is not None and WEEKDAYS[d.weekday()].lower()[:len(weekday)] != weekday:
        raise ValueError(f"{d.isoformat()} is a {WEEKDAYS[d.weekday()]}, not {weekday}")
    return d


FORMATS: dict[str, DateFormat] = {
    f.name: f
    for f in [
        # numeric, year first: the 4-digit year up front leaves no order to guess
        DateFormat("iso", "{yyyy}-{mm}-{dd}", "2024-03-14"),
        DateFormat("ymd_slash", "{yyyy}/{mm}/{dd}", "2024/03/14"),
        DateFormat("ymd_dot", "{yyyy}.{mm}.{dd}", "2024.03.14"),
        DateFormat("ymd_space", "{yyyy} {mm} {dd}", "2024 03 14"),
        DateFormat("ymd_compact", "{yyyy}{mm}{dd}", "20240314"),
        # numeric, day first: separators `.`, `-` and space
        DateFormat("dmy_dot", "{d}.{m}.{yyyy}", "14.03.2024"),
        DateFormat("dmy_dot_spaced", "{d}. {m}. {yyyy}", "14. 03. 2024"),
        DateFormat("dmy_dash", "{d}-{m}-{yyyy}", "14-03-2024"),
        DateFormat("dmy_space", "{d} {m} {yyyy}", "14 03 2024"),
        # numeric, month first: only `/`
        DateFormat("mdy_slash", "{m}/{d}/{yyyy}", "03/14/2024"),
        DateFormat("mdy_slash_spaced", "{m} / {d} / {yyyy}", "03 / 14 / 2024"),
        # spaces around the separator
        DateFormat("iso_spaced", "{yyyy} - {mm} - {dd}", "2024 - 03 - 14"),
        DateFormat("dmy_dash_spaced", "{d} - {m} - {yyyy}", "14 - 03 - 2024"),
        # two-digit years, year last (see the module docstring)
        DateFormat("dmy_dot_yy", "{d}.{m}.{yy}", "14.03.24"),
        DateFormat("dmy_dot_spaced_yy", "{d}. {m}. {yy}", "14. 03. 24"),
        DateFormat("dmy_dash_yy", "{d}-{m}-{yy}", "14-03-24"),
        DateFormat("dmy_dash_spaced_yy", "{d} - {m} - {yy}", "14 - 03 - 24"),
        DateFormat("dmy_space_yy", "{d} {m} {yy}", "14 03 24"),
        DateFormat("mdy_slash_yy", "{m}/{d}/{yy}", "03/14/24"),
        DateFormat("mdy_slash_spaced_yy", "{m} / {d} / {yy}", "03 / 14 / 24"),
        DateFormat("dd_mon_yy_dash", "{dd}-{mon}-{yy}", "14-Mar-24"),
        # month names, full and abbreviated
        DateFormat("month_day_year", "{month} {day}, {yyyy}", "March 14, 2024"),
        DateFormat("month_day_year_nocomma", "{month} {day} {yyyy}", "March 14 2024"),
        DateFormat("mon_day_year", "{mon} {day}, {yyyy}", "Mar 14, 2024"),
        DateFormat("mon_dot_day_year", "{mon.} {day} {yyyy}", "Mar. 14 2024"),
        DateFormat("day_month_year", "{day} {month} {yyyy}", "14 March 2024"),
        DateFormat("day_mon_year", "{day} {mon} {yyyy}", "14 Mar 2024"),
        DateFormat("dd_mon_yyyy_dash", "{dd}-{mon}-{yyyy}", "14-Mar-2024"),
        DateFormat("ddmonyyyy", "{dd}{mon}{yyyy}", "14Mar2024"),
        DateFormat("year_month_day", "{yyyy} {month} {day}", "2024 March 14"),
        # with the (true) weekday
        DateFormat("weekday_month_day_year", "{weekday}, {month} {day}, {yyyy}",
                   "Thursday, March 14, 2024"),
        DateFormat("weekday_day_month_year", "{weekday} {day} {month} {yyyy}",
                   "Thursday 14 March 2024"),
        DateFormat("wkd_day_mon_year", "{wkd}, {day} {mon} {yyyy}", "Thu, 14 Mar 2024"),
        DateFormat("wkd_mon_day_year", "{wkd} {mon} {day} {yyyy}", "Thu Mar 14 2024"),
        # ordinal days
        DateFormat("month_ordinal_year", "{month} {ord}, {yyyy}", "March 14th, 2024"),
        DateFormat("mon_ordinal_year", "{mon} {ord} {yyyy}", "Mar 14th 2024"),
        DateFormat("ordinal_month_year", "{ord} {month} {yyyy}", "14th March 2024"),
        DateFormat("the_ordinal_of_month", "the {ord} of {month} {yyyy}",
                   "the 14th of March 2024"),
        DateFormat("the_ordinal_of_month_comma", "the {ord} of {month}, {yyyy}",
                   "the 14th of March, 2024"),
        DateFormat("ordinal_of_month_year", "{ord} of {month} {yyyy}", "14th of March 2024"),
        DateFormat("ordinal_mon_year", "{ord} {mon} {yyyy}", "14th Mar 2024"),
        DateFormat("weekday_the_ordinal_of_month", "{weekday}, the {ord} of {month}, {yyyy}",
                   "Thursday, the 14th of March, 2024"),
    ]
}


def render(d: date, fmt_name: str, rng: random.Random) -> str:
    """`d` written in format `fmt_name`, with casing/spacing/padding drawn from `rng`."""
    return FORMATS[fmt_name].render(d, rng)


def parse(text: str, fmt_name: str) -> date:
    """The inverse of `render` for one format; ValueError if `text` is not in it."""
    return FORMATS[fmt_name].parse(text)


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    date: date
    format: str


def find_dates(text: str) -> list[DateMatch]:
    """Every span of `text` that some format reads as a real calendar date, overlaps
    included (a weekday form also holds its weekday-less form)."""
    found = []
    for fmt in FORMATS.values():
        for match in fmt.scanner.finditer(text):
            try:
                d = date_from_match(match)
            except ValueError:  # digits in a date's shape that name no real day
                continue
            found.append(DateMatch(match.start(1), match.end(1), d, fmt.name))
    return found


def locate_date(text: str) -> DateMatch:
    """The one date in `text`: every match names the same day and lies inside the widest
    one, which is returned. ValueError when there is no date or more than one reading."""
    found = find_dates(text)
    if not found:
        raise ValueError(f"no date in {text!r}")
    widest = max(found, key=lambda m: m.end - m.start)
    for m in found:
        if m.date != widest.date or m.start < widest.start or m.end > widest.end:
            raise ValueError(f"{text!r} reads as {widest.date} at {widest.start}:{widest.end} "
                             f"and as {m.date} at {m.start}:{m.end}")
    return widest

"""What a page is: the `Page` a builder returns (title, lead, sections, headline numbers), and
the facts every builder shares: the manifest's file name and the command that made a run.

Builders (`seqlm.report.pages`) read a run's manifest and return a `Page`; `seqlm.report.html`
renders it. Leaves out: rendering (html), what each command shows (pages).
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"  # every run directory's record (written by `seqlm.runs.run`)


@dataclass
class Section:
    """One part of a page: its heading, its Markdown (plots as paths in the run directory),
    and the commands that reproduce its numbers."""

    title: str
    markdown: str
    commands: tuple[str, ...] = ()
    anchor: str = ""


@dataclass
class Glance:
    """One headline number, linked to the section (and command) it comes from."""

    what: str
    value: str
    anchor: str


@dataclass
class Page:
    title: str
    lead: str  # Markdown: what the run is, said to the reader
    sections: list[Section] = field(default_factory=list)
    glance: list[Glance] = field(default_factory=list)
    highlight: str = ""  # Markdown under the headline numbers (the lab: why recurrence lost)


def command_of(manifest: dict[str, Any]) -> str:
    """The command line that made the run, as it can be typed again."""
    argv = list(manifest.get("argv", []))
    if argv and Path(argv[0]).name in ("seqlm", "__main__.py", "-m"):
        argv[0] = "seqlm"  # however it was started (`python -m seqlm`, a script), it is seqlm
    return shlex.join(argv) or f"seqlm {manifest['command']}"

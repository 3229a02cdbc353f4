"""`report.html`: one self-contained web page for any run directory.

    manifest.json ──(pages: one builder per command)───────> Page: title, lead, sections
    each section's Markdown ──(markdown: Python-Markdown)──> HTML, plots as data: URIs
    Page + manifest ──(Jinja2: templates/report.html.j2)──> run/report.html, written atomically

The page holds no script and loads nothing: every plot the Markdown names (`![caption](path)`,
a path inside the run directory) is read and put inside the page as a base64 PNG, so the
file can be mailed, opened offline and read on a phone. Sections are Markdown because the
experiments already state their results in it (the same text is `report.md`): one text, two
renderings, nothing said twice. `Run` writes the page when it ends, the lab after every step
and a training run after every evaluation, so an interrupted run leaves a page of what ran.
Leaves out: interactive plots, pages that join several runs.
"""

import json
from contextlib import suppress
from pathlib import Path
from typing import Any

from seqlm.atomic import atomic_write_text
from seqlm.errors import SeqlmError
from seqlm.report.page import MANIFEST, Page
from seqlm.report.pages import build_page
from seqlm.version import __version__

REPORT = "report.html"
STATUS_WORDS = {"ok": "finished", "running": "still running", "interrupted": "interrupted",
                "failed": "failed", "diverged": "diverged"}


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise SeqlmError(f"{run_dir} is not a run directory (no {MANIFEST}): give a folder "
                         "that a seqlm command wrote") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SeqlmError(f"{path} is not valid JSON ({e}): it was damaged; run the command "
                         "again") from None
    if not isinstance(manifest, dict) or "command" not in manifest:
        raise SeqlmError(f"{path} is not a seqlm manifest: give a folder that a seqlm "
                         "command wrote")
    for key, types in MANIFEST_TYPES.items():
        if key in manifest and not isinstance(manifest[key], types):
            raise SeqlmError(f"{path} is damaged: its {key!r} is a {type(manifest[key]).__name__}"
                             f" where seqlm writes a {' or '.join(KINDS[t] for t in types)}; run "
                             "the command again")
    return manifest


# the manifest's own keys and the JSON types seqlm writes for them
KINDS = {str: "string", list: "list", dict: "object", int: "number", float: "number",
         type(None): "null"}
MANIFEST_TYPES: dict[str, tuple[type, ...]] = {
    "command": (str,), "argv": (list,), "status": (str,), "started": (str,),
    "seconds": (int, float), "seed": (int, type(None)), "config": (dict, type(None)),
    "environment": (dict,), "data": (dict,), "metrics": (dict,), "timings": (dict,),
    "artifacts": (dict,)}


def write_report(run_dir: str | Path) -> Path:
    """Write `run_dir/report.html` from its manifest and plots; return its path. A manifest
    whose deeper fields were edited into other types is a SeqlmError naming the file."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    try:
        page = build_page(run_dir, manifest)
        html = render_html(page, manifest, run_dir)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as e:
        raise SeqlmError(f"{run_dir / MANIFEST} holds a field of an unexpected type or value "
                         f"({type(e).__name__}: {str(e)[:100]}): it was edited or damaged; "
                         "run the command again") from None
    return atomic_write_text(run_dir / REPORT, html)


def slug(title: str, taken: set[str]) -> str:
    base = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    base = "-".join(filter(None, base.split("-")))[:40] or "section"
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def render_html(page: Page, manifest: dict[str, Any], run_dir: Path) -> str:
    import jinja2  # here: a run imports this module at its end, `seqlm ngram` should stay light

    from seqlm.report.markdown import to_html

    env = jinja2.Environment(loader=jinja2.PackageLoader("seqlm.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, bytecode_cache=template_cache())
    taken: set[str] = set()
    sections = []
    for s in page.sections:
        sections.append({"title": s.title, "commands": s.commands,
                         "anchor": s.anchor or slug(s.title, taken),
                         "html": to_html(s.markdown, run_dir)})
        taken.add(sections[-1]["anchor"])
    shown = {"title": page.title, "lead": to_html(page.lead, run_dir), "sections": sections,
             "glance": page.glance, "highlight": to_html(page.highlight, run_dir)
             if page.highlight else ""}
    status = manifest.get("status", "ok")
    return env.get_template("report.html.j2").render(
        page=shown, version=__version__, live=status == "running", status=status,
        status_words=STATUS_WORDS.get(status, status), notice=status_notice(status),
        titles={s["anchor"]: s["title"] for s in sections}, run_name=run_dir.name,
        **about(manifest))


def template_cache():
    """Jinja2's cache of compiled templates (a private folder under the system's temporary
    folder, keyed by the template's checksum): every run ends with this page, and compiling
    the template costs ~10 ms a process. A cache that cannot be read or written (a full
    disk) is skipped, never a page lost; None where no such folder can be made."""
    import jinja2

    class TemplateCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            with suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket) -> None:
            with suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        return TemplateCache()
    except (RuntimeError, OSError):  # no safe temporary folder: compile every time
        return None


def status_notice(status: str) -> str:
    if status == "running":
        return ("This run is still going: the page shows what has finished so far and is "
                "written again as each part ends (your browser reloads it every 30 s).")
    if status in ("interrupted", "failed", "diverged"):
        return f"This run {STATUS_WORDS[status]}: the page shows what it finished before that."
    return ""


def about(manifest: dict[str, Any]) -> dict[str, Any]:
    """The appendix: command, seed, environment, data checksums, timings, files, config."""
    started = manifest.get("started", "")
    config = manifest.get("config")
    return {
        "argv": " ".join(manifest.get("argv", [])), "seed": manifest.get("seed"),
        "started": started.replace("T", " "), "duration": duration(manifest.get("seconds")),
        "error": manifest.get("error"),
        "environment": [(k, "-" if v is None else v)
                        for k, v in manifest.get("environment", {}).items()],
        "data": data_rows(manifest.get("data", {})),
        "timings": [(k, f"{v:,.2f}") for k, v in manifest.get("timings", {}).items()
                    if isinstance(v, int | float)],
        "artifacts": sorted(set(manifest.get("artifacts", {}).values())),
        "config": json.dumps(config, indent=2) if config else "",
    }


def data_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for name, value in data.items():
        if not isinstance(value, dict):
            rows.append({"name": name, "sha256": "-", "details": str(value)})
            continue
        details = [f"{k}: {shown(v)}" for k, v in value.items() if k not in ("sha256", "name")]
        rows.append({"name": name, "sha256": value.get("sha256", "-"),
                     "details": "; ".join(details)})
    return rows


def shown(value: Any) -> str:
    """`{'train': 808466, 'valid': 104474}` as `train 808,466, valid 104,474`."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {shown(v)}" for k, v in value.items())
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"

"""What `--overwrite` may replace: only what seqlm itself wrote, never a user's folder.

A run directory is seqlm's when it holds a `manifest.json` that seqlm wrote (it names its
format, or at least the seqlm version that wrote it). Output files are seqlm's when they carry
seqlm's mark: an ARPA file's `# seqlm` header line, a PNG's `Software` text chunk, a binary
model's magic bytes. Whatever else, `.`, the home folder, a filesystem root and every folder
that holds the working directory are never replaced. Leaves out: undo (replaced runs are gone).
"""

import json
import os
from pathlib import Path

from seqlm.errors import SeqlmError
from seqlm.report.page import MANIFEST

RUN_FORMAT = "seqlm-run"
PNG_MARK = b"tEXtSoftware\x00seqlm"  # figures carry the text chunk Software = "seqlm ..."


def protected(path: Path) -> str | None:
    """Why `path` may never be replaced (None: it may, if seqlm wrote it)."""
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "a filesystem root"
    if resolved == Path.home().resolve():
        return "your home folder"
    if resolved == cwd:
        return "the working directory"
    if resolved in cwd.parents:
        return "a folder that holds the working directory"
    return None


def seqlm_manifest(run_dir: Path) -> dict | None:
    """The run directory's manifest if seqlm wrote it, else None."""
    try:
        data = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    environment = data.get("environment")
    by_seqlm = data.get("format") == RUN_FORMAT or (
        isinstance(environment, dict) and "seqlm" in environment and "command" in data)
    return data if by_seqlm else None


def seqlm_wrote_file(path: Path) -> bool:
    """Whether the file carries seqlm's mark (see the module docstring)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head.startswith(b"# seqlm"):
        return True  # an ARPA file
    if head.startswith(b"\x89PNG"):
        return PNG_MARK in head
    return head.startswith(b"SEQLM")  # binary formats open with SEQLM magic


def check_replaceable_dir(path: Path, flag: str = "--out") -> None:
    """Raise unless `path` is a run directory seqlm wrote that may be replaced."""
    why = protected(path)
    if why is not None:
        raise SeqlmError(f"{flag} {path} is {why}: --overwrite never replaces it; give a new "
                         f"folder such as {flag} runs/NAME")
    if not path.is_dir():
        raise SeqlmError(f"{flag} {path} is a file, not a run directory: --overwrite only "
                         f"replaces run directories seqlm wrote; choose another {flag}")
    if seqlm_manifest(path) is None:
        raise SeqlmError(f"{flag} {path} holds files seqlm did not write (no seqlm "
                         f"manifest.json): --overwrite only replaces seqlm run directories; "
                         f"choose another {flag} or move those files yourself")


def check_output_file(path: str | os.PathLike, overwrite: bool, flag: str) -> Path:
    """A file path a command may write: not a folder, and not an existing file unless
    `overwrite` and seqlm wrote it. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise SeqlmError(f"{flag} {path} is a folder: give a file path, e.g. {flag} "
                         f"{path / 'model'}")
    if path.exists():
        if not overwrite:
            raise SeqlmError(f"{flag} {path} exists: pass --overwrite to replace it (only a "
                             f"file seqlm wrote), or choose another path")
        if not seqlm_wrote_file(path):
            raise SeqlmError(f"{flag} {path} exists and was not written by seqlm: --overwrite "
                             f"only replaces seqlm's own files; choose another path")
    return path

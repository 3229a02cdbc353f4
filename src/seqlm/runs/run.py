"""Run directories: every command that trains or evaluates writes one, with `manifest.json`.

The manifest records the command line, the resolved config, the seed, the software and
machine (seqlm version and git commit; numpy, torch and python versions; CPU and GPU), the
data identity (name, sha256, split sizes), metrics, timings, and the paths of the artifacts.
It is written atomically, first when the run starts (status "running") and again when it
ends. An existing, non-empty run directory is refused unless `overwrite=True`, and even then
replaced only if seqlm wrote it. A run that fails on bad input (`SeqlmError`) removes what it
created and leaves any old run whole; any other failure keeps the new run, marked "failed" or
"interrupted", so checkpoints are never lost. Every run that is kept ends with its
`report.html` (`seqlm.report.html`), written from the manifest. Under torchrun only
rank 0's `Run` writes; the other ranks hold one with `writes=False`, which takes no lock and
touches no file.
"""

import datetime as dt
import os
import shutil
import sys
import time
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from seqlm.atomic import atomic_write_json
from seqlm.config import to_dict
from seqlm.errors import SeqlmError
from seqlm.runs.environment import environment, torch_environment
from seqlm.runs.lock import RunLock, process_alive
from seqlm.runs.overwrite import (
    MANIFEST,
    RUN_FORMAT,
    check_replaceable_dir,
    seqlm_manifest,
)

# statuses of a run that did not get where it was going
UNFINISHED = ("interrupted", "diverged", "failed")


def default_run_dir(command: str, root: str | Path = "runs") -> Path:
    """`runs/<command>-<YYYYmmdd-HHMMSS>`, with a counter if that exists already."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{command.replace(' ', '-')}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class Run:
    """One run directory. Use as a context manager: the manifest is written on entry (status
    "running") and on exit.

    An existing, non-empty directory is replaced only with `overwrite=True`, only if seqlm
    wrote it (`seqlm.runs.overwrite`), and only once the new run has got past its
    input checks: the new run is built in a hidden sibling folder and swapped in at the end,
    so a refused or mistyped run leaves the old one whole. A lock beside the directory keeps
    a second process out while this one runs (`seqlm.runs.lock`). With
    `writes=False` (a training process other than rank 0) it records in memory only.
    """

    def __init__(self, command: str, config: Any, out: str | Path | None = None,
                 overwrite: bool = False, argv: list[str] | None = None, seed: int | None = None,
                 resume: bool = False, writes: bool = True):
        self.command = command
        self.config = config
        self.seed = seed if seed is not None else getattr(config, "seed", None)
        self.argv = list(sys.argv if argv is None else argv)
        if out is not None and not str(out).strip():
            raise SeqlmError("--out is empty: give a folder name, or leave --out out for "
                             "runs/<command>-<time>")
        self.target = Path(out) if out is not None else default_run_dir(command)
        self.path = self.target  # where files go while running: a staging folder when replacing
        self.overwrite = overwrite
        self.status = "ok"  # what the manifest says on a normal exit ("interrupted", ...)
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.artifacts: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.created = False
        self.made_dir = False
        self.replacing = False
        self.started = time.time()
        self.environment: dict[str, Any] = {}
        self.lock = RunLock(self.target, command)
        self.resume = resume  # go on in an existing run directory, keeping what is there
        self.previous: dict[str, Any] | None = None  # its manifest before this run
        self.writes = writes  # False: another process (rank 0) writes this run
        # what makes an unfinished run worth more than the old run it would replace
        self.keeps: tuple[str, ...] = ("*.pt",)
        self.staged: Path | None = None  # the staging folder, once swapped in

    def final(self, text: str) -> str:
        """`text` (an error message) naming the run directory where it ended up, not the
        staging folder it was built in."""
        staging = self.staged or (self.path if self.replacing else None)
        return text if staging is None else text.replace(str(staging), str(self.target))

    def __enter__(self) -> "Run":
        if not self.writes:
            self.created = True
            return self
        try:
            self.lock.acquire()
        except OSError as e:  # name the run directory, not the lock file beside it
            raise OSError(e.errno, e.strerror, str(self.target)) from None
        try:
            recover_interrupted_swap(self.target)
            remove_stale_staging(self.target)
            self.prepare_directory()
            self.started = time.time()
            self.environment = environment()  # at the start: the code that runs
            self.write_manifest("running")
        except BaseException:
            self.discard()
            self.lock.release()
            raise
        self.created = True
        return self

    def prepare_directory(self) -> None:
        """Use the target, or a staging folder beside it when an old run is to be replaced;
        when resuming, the run directory as it is."""
        target = self.target
        if self.resume:
            self.previous = seqlm_manifest(target)
            if self.previous is None:
                raise SeqlmError(f"{target} is not a seqlm run directory (no seqlm "
                                 "manifest.json): resume from the run directory training wrote")
            resumes = self.previous.get("resumes", [])
            self.extra["resumes"] = [*resumes, {"started": dt.datetime.now().isoformat(
                timespec="seconds"), "argv": self.argv}]
            return
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            if not self.overwrite:
                raise SeqlmError(f"run directory {target} exists and is not empty: pass "
                                 "--overwrite to replace it (only a run seqlm wrote), or "
                                 "choose another --out")
            check_replaceable_dir(target)
            self.path = target.parent / f".{target.name}.seqlm-new-{os.getpid()}"
            self.replacing = True
        self.made_dir = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.writes:
            return
        try:
            if exc_type is not None and issubclass(exc_type, SeqlmError):
                if self.resume and self.previous is not None:  # as it was before this try
                    atomic_write_json(self.path / MANIFEST, self.previous)
                    return
                self.discard()  # bad input: leave nothing behind, the old run untouched
                return
            if exc_type is None:
                self.write_manifest(self.status)
            elif issubclass(exc_type, OSError) and not self.resume and self.holds_nothing():
                self.discard()  # a machine fault before anything was made: no empty husk
                return
            else:
                status = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
                self.status = status
                with suppress(OSError):  # a full or read-only disk: the error says so already
                    self.write_manifest(status, error=f"{exc_type.__name__}: {exc}".rstrip(": "))
            if self.replacing and not self.worth_swapping(exc_type):
                self.keep_the_old_run()
                return
            self.swap_in()
            self.write_report()
        finally:
            self.lock.release()

    def holds_nothing(self) -> bool:
        """True if the run made no file but its manifest."""
        return all(p.name == MANIFEST for p in self.path.rglob("*") if p.is_file())

    def worth_swapping(self, exc_type) -> bool:
        """Whether the new run may replace the old one: it ended well, or it holds at least
        one checkpoint (a run that diverged or was stopped before its first checkpoint has
        nothing to offer in exchange for the old run's)."""
        if exc_type is None and self.status not in UNFINISHED:
            return True
        return any(any(self.path.glob(pattern)) for pattern in self.keeps)

    def keep_the_old_run(self) -> None:
        """The new run made nothing worth the old one: drop it, say that the old one stays."""
        status = "was stopped" if self.status == "interrupted" else f"ended {self.status}"
        made = " or ".join(self.keeps)
        self.discard()
        warnings.warn(f"the new run {status} before writing anything worth keeping ({made}): "
                      f"the previous run in {self.target} is kept as it was", stacklevel=3)

    def discard(self) -> None:
        """Remove what this run made (the staging folder, or the new directory)."""
        if not self.resume and self.path.exists() and (self.replacing or self.made_dir):
            shutil.rmtree(self.path, ignore_errors=True)

    def swap_in(self) -> None:
        """Put the finished staging folder where the old run was, then delete the old run.

        Three renames, each atomic: old run -> `.NAME.seqlm-old-PID`, staging -> NAME, and
        `-old-` -> `-trash-` before it is deleted. A process killed between them leaves an
        `-old-` copy, which the next run on NAME restores or names, never deletes
        (`recover_interrupted_swap`); only `-trash-` and `-new-` leftovers are removed."""
        if not self.replacing:
            return
        self.staged = self.path
        swap_into_place(self.path, self.target)
        self.path, self.replacing = self.target, False

    def artifact(self, name: str, relpath: str | None = None) -> Path:
        """The path of artifact `name` inside the run directory, recorded in the manifest."""
        rel = relpath or name
        self.artifacts[name] = rel
        path = self.path / rel
        if self.writes:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def timer(self, name: str):
        """Record the wall-clock seconds of the block under `timings[name]`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 4)

    def manifest(self, status: str, error: str | None = None) -> dict[str, Any]:
        config = to_dict(self.config) if self.config is not None else None
        out = {
            "format": RUN_FORMAT,
            "command": self.command,
            "argv": self.argv,
            "status": status,
            "started": dt.datetime.fromtimestamp(self.started).isoformat(timespec="seconds"),
            "seconds": round(time.time() - self.started, 3),
            "seed": self.seed,
            "config": config,
            "environment": {**self.environment, **torch_environment()},
            "data": self.data,
            "metrics": self.metrics,
            "timings": self.timings,
            "artifacts": self.artifacts,
        }
        clash = sorted(set(self.extra) & set(out))
        if clash:
            raise ValueError(f"run.extra may not replace the manifest's own keys: {clash}")
        out.update(self.extra)
        if error:
            out["error"] = error
        return out

    def write_manifest(self, status: str = "ok", error: str | None = None) -> Path:
        if not self.writes:
            return self.path / MANIFEST
        return atomic_write_json(self.path / MANIFEST, self.manifest(status, error))

    def write_report(self) -> None:
        """`report.html` from the manifest as written last; a page that cannot be written is
        a warning, never the loss of the run it describes."""
        if not self.writes:
            return
        try:
            from seqlm.report.html import write_report

            write_report(self.path)
        except Exception as e:  # noqa: BLE001 (the run itself is safe on disk already)
            warnings.warn(f"{self.path / 'report.html'} was not written: "
                          f"{type(e).__name__}: {e}", stacklevel=2)


def left_by_dead_process(path: Path) -> bool:
    pid = path.name.rsplit("-", 1)[-1]
    return path.is_dir() and pid.isdigit() and not process_alive(int(pid))


def remove_stale_staging(target: Path) -> None:
    """Staging folders and old runs already swapped out (`-new-`, `-trash-`) that a killed
    run left behind (its pid is gone). An `-old-` copy is never removed here."""
    for kind in ("new", "trash"):
        for other in target.parent.glob(f".{target.name}.seqlm-{kind}-*"):
            if left_by_dead_process(other):
                shutil.rmtree(other, ignore_errors=True)


def swap_into_place(staging: Path, target: Path) -> None:
    """Put the folder `staging` where the folder `target` is, then delete the old one: the
    three renames of `Run.swap_in`, each atomic (old -> `.NAME.seqlm-old-PID`, staging -> NAME,
    `-old-` -> `-trash-` before it is deleted)."""
    old = target.parent / f".{target.name}.seqlm-old-{os.getpid()}"
    os.rename(target, old)
    os.rename(staging, target)
    trash = old.with_name(f".{target.name}.seqlm-trash-{os.getpid()}")
    os.rename(old, trash)
    shutil.rmtree(trash, ignore_errors=True)


def recover_interrupted_swap(target: Path, ours=lambda p: seqlm_manifest(p) is not None) -> None:
    """An `--overwrite` killed between its renames leaves the old run as
    `.NAME.seqlm-old-PID`: with no run at NAME it is put back (if `ours(old)`: seqlm wrote
    it); otherwise (the new run made it in) it is kept where it is and named, for the user to
    keep or delete."""
    olds = sorted(p for p in target.parent.glob(f".{target.name}.seqlm-old-*")
                  if left_by_dead_process(p))
    if olds and not target.exists() and ours(olds[-1]):
        os.rename(olds.pop(), target)
        warnings.warn(f"restored the run in {target} that an interrupted --overwrite had "
                      "moved aside", stacklevel=3)
    for old in olds:
        warnings.warn(f"an interrupted --overwrite left an earlier run at {old}: rename it to "
                      "use it, or delete it", stacklevel=3)

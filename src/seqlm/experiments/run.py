"""Run directories: every command that trains or evaluates writes one, with `manifest.json`.

The manifest records the command line, the resolved config, the seed, the software and
machine (seqlm version and git commit; numpy, torch and python versions; CPU and GPU), the
data identity (name, sha256, split sizes), metrics, timings, and the paths of the artifacts.
It is written atomically. An existing, non-empty run directory is refused unless
`overwrite=True`. A run that fails on bad input (`SeqlmError`) removes the directory it
created; any other failure keeps it, marked "failed", so checkpoints are never lost.
"""

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import seqlm
from seqlm.atomic import atomic_write_json
from seqlm.config import to_dict
from seqlm.errors import SeqlmError

MANIFEST = "manifest.json"


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
    """One run directory. Use as a context manager: the manifest is written on exit."""

    def __init__(self, command: str, config: Any, out: str | Path | None = None,
                 overwrite: bool = False, argv: list[str] | None = None, seed: int | None = None):
        self.command = command
        self.config = config
        self.seed = seed if seed is not None else getattr(config, "seed", None)
        self.argv = list(sys.argv if argv is None else argv)
        self.path = Path(out) if out is not None else default_run_dir(command)
        self.overwrite = overwrite
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.artifacts: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.created = False
        self.started = time.time()
        self.environment: dict[str, Any] = {}

    def __enter__(self) -> "Run":
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            if not self.overwrite:
                raise SeqlmError(
                    f"run directory {self.path} exists and is not empty: pass --overwrite to "
                    "replace it, or choose another --out"
                )
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        self.created = True
        self.started = time.time()
        self.environment = environment()  # at the start: the code that runs, not what follows
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.write_manifest("ok")
        elif issubclass(exc_type, SeqlmError):
            shutil.rmtree(self.path, ignore_errors=True)  # bad input: leave nothing behind
        else:
            status = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            self.write_manifest(status, error=f"{exc_type.__name__}: {exc}")

    def artifact(self, name: str, relpath: str | None = None) -> Path:
        """The path of artifact `name` inside the run directory, recorded in the manifest."""
        rel = relpath or name
        self.artifacts[name] = rel
        path = self.path / rel
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
        out.update(self.extra)
        if error:
            out["error"] = error
        return out

    def write_manifest(self, status: str = "ok", error: str | None = None) -> Path:
        return atomic_write_json(self.path / MANIFEST, self.manifest(status, error))


def package_version(name: str) -> str | None:
    import importlib.metadata  # here, not at the top: ~20 ms that `seqlm ngram` start-up skips

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the seqlm checkout, with `-dirty` for local changes; None if not a
    checkout."""
    root = Path(seqlm.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Software and machine, read when a run starts."""
    return {
        "seqlm": seqlm.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": package_version("numpy"),
        "torch": package_version("torch"),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
    }


def torch_environment() -> dict[str, Any]:
    """torch's threads and GPU, only if torch is already imported (n-gram commands never import
    it), so asking costs nothing."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    return {"torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}

"""What a run's manifest records of the machine and the software, read when the run starts:
seqlm's version and git commit (with `-dirty` for local changes), Python, NumPy and torch
versions, the platform, the CPU and its count; torch's threads and GPU only where torch is
already loaded. Leaves out: installed-package lists (the versions that decide the numbers are
named) and GPU details beyond the device name.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from seqlm.version import __version__


def package_version(name: str) -> str | None:
    import importlib.metadata  # here, not at the top: ~20 ms that `seqlm ngram` start-up skips

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the seqlm checkout, with `-dirty` for local changes; None if not a
    checkout."""
    root = Path(__file__).resolve().parents[1]  # src/seqlm
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
        "seqlm": __version__,
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

"""What a run's manifest records of the machine and the software, read when the run starts:
seqlm's version and git commit (with `-dirty` for local changes), Python, NumPy and torch
versions, the platform, the CPU and its count; torch's threads and GPU only where torch is
already loaded. Leaves out: installed-package lists (the versions that decide the numbers are
named) and GPU details beyond the device name.

Every run pays for this when it starts, so it is cheap: one `git status` call gives the
commit and the local changes, and a package's version is read from the name of its
`NAME-VERSION.dist-info` folder (`importlib.metadata`, ~30 ms of imports, only where that
folder is not found or not alone).
"""

import importlib.util
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from seqlm.version import __version__


def package_version(name: str) -> str | None:
    """The installed version of distribution `name` (None if it is not installed)."""
    version = dist_info_version(name)
    if version is not None:
        return version
    import importlib.metadata  # here, not at the top: ~30 ms that start-up skips

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def dist_info_version(name: str) -> str | None:
    """The version in the name of the one `NAME-VERSION.dist-info` folder beside the
    importable package `name`, as the wheel spec names it; None where there is not exactly
    one (no package, an egg-info or editable install elsewhere, a stale second folder)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.has_location:  # built in, namespace
        return None
    folder = Path(spec.origin).parent  # site-packages/NAME.py, or NAME/__init__.py:
    folder = folder.parent if spec.submodule_search_locations is not None else folder
    wanted = re.sub(r"[-_.]+", "_", name).lower()
    try:
        found = [entry.name[:-len(".dist-info")].split("-", 1) for entry in os.scandir(folder)
                 if entry.name.endswith(".dist-info")]
    except OSError:
        return None
    versions = [parts[1] for parts in found
                if len(parts) == 2 and re.sub(r"[-_.]+", "_", parts[0]).lower() == wanted]
    return versions[0] if len(versions) == 1 else None


def git_commit() -> str | None:
    """The commit of the seqlm checkout, with `-dirty` for local changes under src/seqlm;
    None if not a checkout. One `git status` call: its porcelain v2 header names the
    commit (`# branch.oid`), every other line is a change."""
    root = Path(__file__).resolve().parents[1]  # src/seqlm
    try:
        out = subprocess.run(["git", "-C", str(root), "status", "--porcelain=v2", "--branch",
                              "--", "."], capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.splitlines()
    commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if commit is None or commit == "(initial)":  # no commit yet: nothing to name
        return None
    return commit + ("-dirty" if any(not line.startswith("#") for line in lines) else "")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def platform_name() -> str:
    """`platform.platform()`'s string (`Linux-6.1.0-x86_64-with-glibc2.36`), on glibc Linux
    from `os.uname` and `os.confstr` (platform's own scans the Python binary for its libc and
    runs `uname -p`: ~9 ms of a small n-gram run); elsewhere platform's."""
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        libc = ""
    name, _, version = libc.partition(" ")
    uname = os.uname() if hasattr(os, "uname") else None
    if uname is None or uname.sysname != "Linux" or name != "glibc" or not version:
        return platform.platform()
    return f"Linux-{uname.release}-{uname.machine}-with-glibc{version}"


def environment() -> dict[str, Any]:
    """Software and machine, read when a run starts."""
    return {
        "seqlm": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": package_version("numpy"),
        "torch": package_version("torch"),
        "platform": platform_name(),
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

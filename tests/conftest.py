"""Shared test fixtures: running the CLI as a subprocess, and finding Tiny Shakespeare."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # two workers share the two cores: each computes on one thread, and so do the CLI
    # processes it starts (they inherit this), rather than four threads spinning on two cores
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import seqlm  # noqa: E402

SRC = Path(seqlm.__file__).resolve().parent.parent
REPO = SRC.parent


def tinyshakespeare_dir() -> Path | None:
    """`$SEQLM_DATA_DIR` or `../shared/data` beside the checkout, if it holds the file."""
    for candidate in (os.environ.get("SEQLM_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "tinyshakespeare.txt").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def shakespeare_dir() -> Path:
    found = tinyshakespeare_dir()
    if found is None:
        pytest.skip("Tiny Shakespeare not found: set SEQLM_DATA_DIR to a folder holding it")
    return found


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m seqlm ARGS` in a subprocess that imports this checkout's seqlm."""
    path = os.pathsep.join(filter(None, (str(SRC), os.environ.get("PYTHONPATH"))))
    full_env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    return subprocess.run([sys.executable, "-m", "seqlm", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_cli_json(*args: str, **kwargs) -> dict:
    result = run_cli(*args, "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def cli():
    return run_cli


def backward_node_names(grad_fn) -> list[str]:
    """The names of every node in a backward graph reached from `grad_fn`."""
    seen, stack, names = set(), [grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.append(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    return names


SHARED_SESSION_FIXTURES = ("report", "faults")


def pytest_collection_modifyitems(items):
    """Under `pytest -n 2 --dist loadgroup`, the tests of a folder whose session fixture costs
    a training run or a quick lab share one worker, so that fixture is built once."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        if len(parts) > 1 and parts[0] in SHARED_SESSION_FIXTURES:
            item.add_marker(pytest.mark.xdist_group(name=parts[0]))

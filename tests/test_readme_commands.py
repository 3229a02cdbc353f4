"""Every command of the README's Commands section runs as written, in order, in a fresh folder:
no traceback, no warning. The times the README states beside them are measured by
`benchmarks/bench_readme_commands.py`, never asserted here: a test that asserts a time fails
on a busy machine."""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SRC, tinyshakespeare_dir

README = Path(__file__).resolve().parents[1] / "README.md"
STATED = re.compile(r"#\s*(\d+) s\b")


def commands() -> list[tuple[str, float]]:
    """(command line, stated seconds) of the first bash block of "## Commands"."""
    section = README.read_text(encoding="utf-8").split("## Commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    out = []
    for line in block.splitlines():
        if line.startswith("seqlm "):
            code, _, comment = line.partition("  #")
            stated = STATED.search("#" + comment)
            assert stated, f"the README states no time for: {line}"
            out.append((code.strip(), float(stated.group(1))))
    return out


def test_every_command_states_its_time():
    assert len(commands()) >= 30


def run_command(line: str, cwd: Path, data: Path, timeout: float) -> tuple[float, str]:
    """Run one README line as `python -m seqlm ...` in `cwd`; (seconds, stderr), asserting a
    clean exit."""
    path = os.pathsep.join(filter(None, (str(SRC), os.environ.get("PYTHONPATH"))))
    env = {**os.environ, "PYTHONPATH": path, "SEQLM_DATA_DIR": str(data),
           "OPENBLAS_NUM_THREADS": "1"}
    words = [sys.executable, "-m", "seqlm", *shlex.split(line)[1:]]
    start = time.perf_counter()
    done = subprocess.run([*words, "--quiet"] if accepts_quiet(line) else words, cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, (line, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, (line, done.stderr[-2000:])
    assert "warning" not in done.stderr.lower(), (line, done.stderr[-2000:])
    return seconds, done.stderr


@pytest.mark.slow
def test_the_readme_commands_run_clean(tmp_path):
    data = tinyshakespeare_dir()
    if data is None:
        pytest.skip("Tiny Shakespeare not found: set SEQLM_DATA_DIR to a folder holding it")
    for line, stated in commands():  # a hang is a failure; slowness on a busy machine is not
        run_command(line, tmp_path, data, timeout=max(600.0, 20 * stated))


def accepts_quiet(line: str) -> bool:
    """Progress bars would only fill the captured stderr; the data list, the binary build and
    the page have none."""
    return not line.startswith(("seqlm data list", "seqlm ngram build", "seqlm report"))

"""The fault-injection suite's tools: the real CLI in-process or in a subprocess, a check that
an error is one line with exit code 2 and no traceback, snapshots that prove no user file was
lost, and tiny filesystems (read-only, full) mounted where the platform allows it."""

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import SRC

FLAG = re.compile(r"(?<![\w`-])--[a-z][a-z0-9-]*")
QUOTED_COMMAND = re.compile(r"`seqlm ([a-z0-9-]+(?: [a-z0-9][a-z0-9-]*)?)[^`]*`")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below `folder` (hidden ones too) with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_kept(before: dict[str, str], folder: Path) -> None:
    after = snapshot(folder)
    lost = {k for k in before if after.get(k) != before[k]}
    assert not lost, f"user files lost or changed: {sorted(lost)}"


def command_parser(words: list[str]):
    """The argparse parser of `seqlm WORDS...` (its subcommand), for checking flags."""
    from seqlm.cli import build_parser

    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        if word not in sub.choices:
            break
        parser = sub.choices[word]
    return parser


def flags_of(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def check_suggested_flags(message: str, command: list[str]) -> None:
    """Every --flag a message suggests exists on the command that printed it, or on the
    command the message quotes (`seqlm seq2seq train --attention ...`)."""
    for quoted in QUOTED_COMMAND.finditer(message):
        words = quoted.group(1).split()
        inner = set(FLAG.findall(quoted.group(0)))
        missing = inner - flags_of(command_parser(words))
        assert not missing, f"{message!r} quotes flags {missing} that `seqlm {quoted.group(1)}`" \
                            " lacks"
    outside = QUOTED_COMMAND.sub("", message)
    missing = set(FLAG.findall(outside)) - flags_of(command_parser(command))
    assert not missing, f"{message!r} suggests {missing}, not options of seqlm {command}"


def assert_one_line_error(code: int, err: str, command: list[str], needle: str = "") -> str:
    """Exit code 2, one `seqlm: error:` line, no traceback, only real flags suggested."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("seqlm: error:")]
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    assert len(errors) == 1, err
    assert needle in errors[0], (needle, errors[0])
    check_suggested_flags(errors[0], command)
    return errors[0]


@pytest.fixture
def seqlm(capsys, monkeypatch, tmp_path):
    """`seqlm(*args, cwd=...) -> (code, stdout, stderr)`: the real CLI's `main`, in-process
    (a subprocess costs a second of imports per case), in `cwd` (default tmp_path)."""
    from seqlm.cli import main

    def call(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd or tmp_path)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def spawn(*args: str, cwd: Path, env: dict | None = None,
          ignore_sigint: bool = False) -> subprocess.Popen:
    """`python -m seqlm ARGS` started in the background (for signals); `ignore_sigint`
    starts it as a shell starts a `&` job, with SIGINT ignored."""
    import signal
    import sys

    full_env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    return subprocess.Popen([sys.executable, "-m", "seqlm", *args], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ignore)


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 180.0) -> None:
    """Poll `predicate` until it holds; fail if `proc` ended first or `timeout` passed (a
    bound against hanging, not a speed check)."""
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert proc is None or proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def mount_tmpfs(path: Path, size: str, readonly: bool = False) -> bool:
    """A small tmpfs at `path` (root and a kernel that allows it; else False)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if readonly else "")
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@pytest.fixture
def readonly_dir(tmp_path):
    path = tmp_path / "readonly"
    if not mount_tmpfs(path, "64k", readonly=True):
        pytest.skip("cannot mount a read-only tmpfs here (needs root and mount rights)")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def full_dir(tmp_path):
    path = tmp_path / "full"
    if not mount_tmpfs(path, "96k"):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


TINY_LM = ["--corpus", "verbs", "--size", "300", "--unit", "word", "--hidden-size", "16",
           "--embedding-dim", "8", "--num-layers", "1", "--batch-size", "4", "--window", "8",
           "--max-steps", "4", "--eval-every", "2", "--eval-max-tokens", "200", "--threads", "1",
           "--quiet"]


@pytest.fixture(scope="session")
def trained_lm(tmp_path_factory):
    """A run directory of a 4-step word LM on `verbs`."""
    from conftest import run_cli

    out = tmp_path_factory.mktemp("faults-lm") / "run"
    result = run_cli("train", *TINY_LM, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def trained_seq2seq(tmp_path_factory):
    """A run directory of a 3-step Bahdanau model on dates."""
    from conftest import run_cli

    out = tmp_path_factory.mktemp("faults-s2s") / "run"
    result = run_cli("seq2seq", "train", "--size", "100", "--max-steps", "3", "--eval-every", "3",
                     "--eval-size", "8", "--hidden-size", "8", "--embedding-dim", "8",
                     "--batch-size", "8", "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out

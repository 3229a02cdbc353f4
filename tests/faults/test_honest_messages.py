"""Messages that tell the truth: every flag an error suggests exists on its command, files
get the permissions the umask asks for, and a killed write's temporary file is cleaned up."""

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import SRC
from faults.conftest import FLAG, QUOTED_COMMAND, command_parser, flags_of
from seqlm.atomic import atomic_write_text


def error_strings() -> list[tuple[str, str]]:
    """(module, text) of every string literal in a raise of seqlm's source (f-strings joined,
    their fields left out)."""
    found = []
    for path in sorted((SRC / "seqlm").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                parts = [n.value for n in ast.walk(node.exc)
                         if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                found.append((str(path.relative_to(SRC)), "".join(parts)))
    return found


def all_commands() -> dict[str, set[str]]:
    """'train' / 'ngram train' -> its flags."""
    out = {}
    for words in (["data", "show"], ["ngram", "train"], ["ngram", "eval"], ["ngram", "sample"],
                  ["ngram", "predict"], ["by-hand"], ["vanishing"], ["train"], ["eval"],
                  ["sample"], ["compare"], ["seq2seq", "train"], ["seq2seq", "translate"],
                  ["seq2seq", "eval"], ["seq2seq", "compare"], ["lab"]):
        out[" ".join(words)] = flags_of(command_parser(words))
    return out


def test_every_flag_in_an_error_message_exists():
    commands = all_commands()
    every = set().union(*commands.values())
    for module, text in error_strings():
        for quoted in QUOTED_COMMAND.finditer(text):
            words = quoted.group(1)
            flags = set(FLAG.findall(quoted.group(0)))
            assert words in commands, (module, text)
            assert flags <= commands[words], (module, text, flags - commands[words])
        loose = set(FLAG.findall(QUOTED_COMMAND.sub("", text)))
        assert loose <= every, (module, text, loose - every)


def test_the_flags_that_were_wrong_now_exist():
    commands = all_commands()
    assert "--encoding-errors" in commands["train"]
    assert "--max-source-len" in commands["seq2seq train"]
    assert "--max-tokens" in commands["eval"]


def test_atomic_writes_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        path = atomic_write_text(tmp_path / "b.txt", "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = tmp_path / f".model.arpa.{dead}.abc123.tmp"
    left.write_text("half a file")
    alive = tmp_path / f".model.arpa.{os.getppid()}.def456.tmp"
    alive.write_text("another writer's")
    atomic_write_text(tmp_path / "model.arpa", "whole")
    assert not left.exists() and alive.exists()
    assert (tmp_path / "model.arpa").read_text() == "whole"
    assert Path(tmp_path / "model.arpa").stat().st_size == 5

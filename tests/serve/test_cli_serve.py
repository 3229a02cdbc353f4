"""`seqlm serve` from the command line: it refuses in one line without its extra or with a path
that is no model, and, given runs, loads them, opens the port (loopback), answers, and stops on
SIGINT."""

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from conftest import SRC
from seqlm.cli import main


def test_without_the_extra_the_command_refuses_in_one_line(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "seqlm: error: seqlm serve needs uvicorn: pip install 'seqlm[serve]'"


def test_a_path_that_is_no_model_is_refused_in_one_line(capsys, tmp_path):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_bounds_are_checked_like_every_config_field(capsys, tmp_path):
    assert main(["serve", str(tmp_path), "--max-beam-width", "0"]) == 2
    assert "--max-beam-width" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_serves_on_loopback_until_interrupted(served):
    config, _ = served
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    words = config.runs[2]  # an n-gram model: the process needs no torch, and starts fast
    process = subprocess.Popen([sys.executable, "-m", "seqlm", "serve", words, "--port", "0"],
                               env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        assert " at http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/models", timeout=30) as response:
            models = json.load(response)["models"]
        assert [m["id"] for m in models] == ["words"]
        asked = urllib.request.Request(url + "api/next", data=b'{"model": "words", '
                                       b'"context": "the dog"}', method="POST")
        with urllib.request.urlopen(asked, timeout=30) as response:
            assert json.load(response)["next"][0]["token"] == "sat"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode in (0, 130)

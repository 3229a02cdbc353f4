"""The sample trail (issue 29, item 3): samples at log-spaced updates with a fixed prime, seed
and temperature, in the manifest and on the run's page, without disturbing training (the
exact-resume test in tests/training/test_lm_training.py runs with the trail on)."""

import json

from faults.conftest import TINY_LM
from seqlm.runs.sample_trail import log_spaced


def test_log_spaced_updates():
    seen, step = [], 0
    while step < 1000:
        step = log_spaced(step)
        seen.append(step)
    assert seen == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert log_spaced(7) == 10 and log_spaced(10) == 20


def test_a_training_run_keeps_its_trail_and_shows_it(cli, tmp_path):
    done = cli("train", *TINY_LM, "--max-steps", "12", "--log-every", "1", "--out", "r",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    trail = manifest["metrics"]["sample_trail"]
    assert [s["step"] for s in trail] == [1, 2, 5, 10]
    assert all(isinstance(s["text"], str) and s["text"].strip() for s in trail)
    assert trail[0]["text"] != trail[-1]["text"]  # the weights changed what they write
    page = (tmp_path / "r" / "report.html").read_text()
    assert "Samples over training" in page


def test_a_trail_samples_only_at_logged_updates(cli, tmp_path):
    done = cli("train", *TINY_LM, "--max-steps", "12", "--log-every", "4", "--out", "r",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trail = json.loads((tmp_path / "r" / "manifest.json").read_text())["metrics"]["sample_trail"]
    assert [s["step"] for s in trail] == [4, 8, 12]  # the first entries at or past 1, 5, 10

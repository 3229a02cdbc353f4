"""`seqlm train / eval / sample` end to end on a small verbs corpus, and their bad inputs."""

import json

import pytest

from conftest import run_cli, run_cli_json

SMALL = ["--corpus", "verbs", "--size", "400", "--unit", "char", "--hidden-size", "24",
         "--embedding-dim", "16", "--batch-size", "4", "--window", "16", "--max-steps", "6",
         "--eval-every", "3", "--eval-max-tokens", "500", "--threads", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli_json("train", *SMALL, "--out", str(out))
    return out, result


def test_train_writes_a_run(trained):
    out, result = trained
    assert result["steps"] == 6 and result["status"] == "finished"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["config"]["model"]["hidden_size"] == 24
    assert {"last", "best", "loss_curve"} <= set(manifest["artifacts"])


def test_eval_and_sample(trained, tmp_path):
    out, _ = trained
    m = run_cli_json("eval", str(out), "--out", str(tmp_path / "e"))
    assert m["bits_per_char"] > 0 and m["tokens"] > 0
    s = run_cli_json("sample", str(out), "--prime", "he ", "--length", "20",
                     "--temperature", "0.5", "0.8", "1.2")
    assert [x["temperature"] for x in s["samples"]] == [0.5, 0.8, 1.2]


def test_bad_inputs_give_one_line_errors(trained, tmp_path):
    out, _ = trained
    r = run_cli("sample", str(out), "--prime", "héllo ∑")
    assert r.returncode == 2 and "outside the model's vocabulary" in r.stderr
    assert "Traceback" not in r.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes((out / "last.pt").read_bytes()[:1000])
    r = run_cli("sample", str(bad))
    assert r.returncode == 2 and "cannot be read" in r.stderr
    r = run_cli("train", "--resume", str(out / "last.pt"), "--hidden-size", "64",
                "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "--hidden-size 64 does not match the checkpoint's 24" in r.stderr
    assert not (tmp_path / "r").exists()
    r = run_cli("train", *SMALL, "--out", str(out))
    assert r.returncode == 2 and "exists and is not empty" in r.stderr
    assert (out / "last.pt").is_file()  # nothing lost
    r = run_cli("train", *SMALL, "--horizon", "time", "--out", str(tmp_path / "h"))
    assert r.returncode == 2 and "needs a time budget: set --max-minutes" in r.stderr
    assert not (tmp_path / "h").exists()


def test_resume_from_the_cli(trained, tmp_path):
    out, _ = trained
    r = run_cli("train", "--resume", str(out / "last.pt"), "--max-minutes", "5",
                "--out", str(tmp_path / "done"))
    assert r.returncode == 2 and "raise --max-steps" in r.stderr  # at max_steps: nothing to do
    r = run_cli_json("train", "--resume", str(out / "last.pt"), "--max-steps", "9",
                     "--out", str(tmp_path / "more"))
    assert r["steps"] == 9  # a finished run extended by three steps
    manifest = json.loads((tmp_path / "more" / "manifest.json").read_text())
    assert manifest["resumed_from"].endswith("last.pt")


def test_the_shipped_tinyshakespeare_config_loads_and_runs(tmp_path):
    from pathlib import Path

    from seqlm.cli.lm import load_config_file

    path = Path(__file__).resolve().parents[2] / "configs" / "tinyshakespeare-char.json"
    config = load_config_file(str(path))
    assert config.corpus.name == "tinyshakespeare" and config.engine.threads == 2
    assert config.engine.schedule.horizon == "time" and config.engine.max_minutes == 10.0
    # the same file, on a corpus that needs no download, shrunk to seconds
    r = run_cli_json("train", "--config", str(path), "--corpus", "verbs", "--size", "400",
                     "--hidden-size", "24", "--embedding-dim", "16", "--max-minutes", "0.02",
                     "--eval-max-tokens", "300", "--threads", "1", "--out", str(tmp_path / "r"))
    assert r["status"] == "time budget" and r["steps"] >= 1

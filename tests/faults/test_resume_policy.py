"""One resume policy and one divergence handling for every family (issue 26 items that close
data-loss paths of issue 23): `api_train(config, resume=...)` refuses what `seqlm train
--resume` refuses, with the same message, and a diverging seq2seq run keeps its checkpoints
and says so, as the LM run does."""

import json
from dataclasses import replace

import pytest

from faults.conftest import assert_one_line_error
from seqlm.api import train as api_train
from seqlm.config import Seq2SeqConfig, TrainConfig, from_dict
from seqlm.errors import SeqlmError


def checkpoint_config(run) -> TrainConfig:
    import torch

    payload = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    return from_dict(TrainConfig, payload["config"])


@pytest.mark.parametrize("change,flag", [
    (lambda c: replace(c, engine=replace(c.engine, schedule=replace(c.engine.schedule,
                                                                      lr=0.5))), "--lr"),
    (lambda c: replace(c, model=replace(c.model, dropout=0.3)), "--dropout"),
    (lambda c: replace(c, window=5), "--window"),
])
def test_the_python_api_refuses_what_the_cli_refuses_on_resume(seqlm, tmp_path, trained_lm,
                                                               change, flag):
    config = change(checkpoint_config(trained_lm))
    with pytest.raises(SeqlmError) as python:
        api_train(config, out=tmp_path / "more", resume=trained_lm)
    args = {"--lr": "0.5", "--dropout": "0.3", "--window": "5"}
    code, _, err = seqlm("train", "--resume", str(trained_lm), flag, args[flag],
                         "--max-steps", "8", "--out", "more")
    cli = assert_one_line_error(code, err, ["train"], "does not match the checkpoint's")
    assert cli == f"seqlm: error: {python.value}"
    assert not (tmp_path / "more").exists()


def test_the_python_api_resumes_with_a_larger_budget(tmp_path, trained_lm):
    config = checkpoint_config(trained_lm)
    config = replace(config, engine=replace(config.engine, max_steps=6))
    run = api_train(config, out=tmp_path / "more", resume=trained_lm)
    assert run.metrics["steps"] == 6


@pytest.mark.slow
def test_a_diverging_seq2seq_run_keeps_its_checkpoint_and_says_so(seqlm, tmp_path):
    code, _, err = seqlm("seq2seq", "train", "--size", "100", "--max-steps", "40",
                         "--eval-every", "2", "--eval-size", "8", "--hidden-size", "8",
                         "--embedding-dim", "8", "--batch-size", "8", "--optimizer", "sgd",
                         "--lr", "1e30", "--clip", "0", "--log-every", "1", "--quiet",
                         "--out", "r")
    message = assert_one_line_error(code, err, ["seq2seq", "train"], "training loss became")
    run = tmp_path / "r"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "diverged" and "diverged" in manifest["error"]
    kept = (run / "best.pt").exists() or (run / "last.pt").exists()
    assert kept == ("the last good checkpoint is kept" in message)
    assert kept or not any(run.glob("*.pt"))


def test_seq2seq_resume_policy_is_the_librarys(tmp_path, trained_seq2seq):
    import torch

    payload = torch.load(trained_seq2seq / "last.pt", map_location="cpu", weights_only=True)
    config = from_dict(Seq2SeqConfig, payload["config"])
    changed = replace(config, model=replace(config.model, hidden_size=32))
    with pytest.raises(SeqlmError, match="does not match the checkpoint's"):
        api_train(changed, out=tmp_path / "more", resume=trained_seq2seq)

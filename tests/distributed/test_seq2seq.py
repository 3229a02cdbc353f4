"""`seqlm seq2seq train` under two processes (torchrun, gloo): each rank reads its shard of
the bucketed batches, the update is one process's with the batch of both, and the run
resumes in one process with its batches cut anew."""

import json
from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import read_checkpoint
from seqlm.config import Seq2SeqConfig, from_dict
from seqlm.runs.seq2seq import run_training

pytestmark = pytest.mark.slow

B = 8  # pairs per process and update
# SGD: the runs then differ by float rounding alone (see test_lm.py)
TRAIN = ["seq2seq", "train", "--size", "300", "--hidden-size", "16", "--embedding-dim", "8",
         "--attention-size", "16", "--eval-size", "16", "--eval-every", "10",
         "--log-every", "5", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.3",
         "--threads", "1", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_torchrun):
    out = tmp_path_factory.mktemp("ddp-seq2seq")
    done = run_torchrun(*TRAIN, "--batch-size", str(B), "--max-steps", "20",
                        "--out", str(out / "two"))
    assert done.returncode == 0, done.stderr[-3000:]
    config = from_dict(Seq2SeqConfig, read_checkpoint(out / "two" / "last.pt")["config"])
    run_training(replace(config, train=replace(config.train, batch_size=2 * B)),
                 out=out / "one")
    return out, config


def test_two_processes_train_as_one_process_with_the_batch_of_both(runs):
    out, _ = runs
    two, one = (read_checkpoint(out / name / "last.pt", "seq2seq") for name in ("two", "one"))
    losses = [[h["loss"] for h in x["training"]["history"]] for x in (two, one)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert losses[0][-1] < losses[0][0]  # it trains
    for name, tensor in two["model"].items():
        assert torch.allclose(tensor, one["model"][name], atol=1e-6, rtol=0), name
    scores = [[e["valid_loss_nats"] for e in x["training"]["evals"]] for x in (two, one)]
    assert scores[0] == pytest.approx(scores[1], rel=1e-6)  # validation sharded over ranks
    manifest = json.loads((out / "two" / "manifest.json").read_text())
    assert manifest["distributed"]["world_size"] == 2 and "test" in manifest["metrics"]
    assert len(two["training"]["task"]["generators"]) == 2  # each rank's coins


def test_a_two_process_run_resumes_in_one_process(runs):
    out, config = runs
    run = run_training(replace(config, engine=replace(config.engine, max_steps=30)),
                       out=out / "alone", resume=out / "two")
    assert run.metrics["steps"] == 30 and run.status == "ok"
    changes = json.loads((out / "alone" / "manifest.json").read_text())["resume_changes"]
    assert changes == {"world_size": [2, 1], "pairs_per_update": [2 * B, B]}

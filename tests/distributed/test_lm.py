"""A language model trained by two processes (torchrun, gloo) against one process with the
batch of both: the same windows, losses and weights (up to the order of float additions),
each rank carrying the state of its own streams, resumed by two processes and by one."""

import json
from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load, read_checkpoint
from seqlm.config import TrainConfig, from_dict
from seqlm.data.batching import LMBatches
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import encode_splits
from seqlm.runs.lm import run_train
from seqlm.training.evaluate import evaluate_stream

pytestmark = pytest.mark.slow

# dropout 0 and a constant rate: the two runs must be the same function of the data. SGD:
# its update is linear in the gradient, so the runs differ by float rounding alone; Adam
# divides by each gradient's running scale, which magnifies the rounding where a gradient is
# near zero (measured here: weights 1e-6 to 8e-5 apart after 30 updates, seeds 0-2)
MODEL = ["--corpus", "verbs", "--size", "400", "--cell", "gru", "--unit", "word",
         "--embedding-dim", "12", "--hidden-size", "16", "--num-layers", "2", "--dropout", "0",
         "--window", "6", "--eval-every", "10", "--log-every", "1", "--decay", "constant",
         "--warmup-steps", "0", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.5",
         "--threads", "1", "--device", "cpu", "--eval-max-tokens", "200"]
B = 4  # streams per process


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_torchrun):
    """Two processes of B streams for 20 updates (torchrun), and one process of 2B."""
    out = tmp_path_factory.mktemp("ddp-lm")
    done = run_torchrun("train", *MODEL, "--batch-size", str(B), "--max-steps", "20",
                        "--out", str(out / "two"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    config = from_dict(TrainConfig, read_checkpoint(out / "two" / "last.pt")["config"])
    run_train(replace(config, batch_size=2 * B), out=out / "one")
    return out, config, done


def last(run_dir):
    return read_checkpoint(run_dir / "last.pt", "lm")


def assert_same_training(a: dict, b: dict) -> None:
    """Losses of every update and the weights, equal up to float reduction order."""
    losses = [[h["loss"] for h in x["training"]["history"]] for x in (a, b)]
    assert len(losses[0]) == len(losses[1]) == a["step"]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6, abs=1e-6)
    for name, tensor in a["model"].items():
        assert torch.allclose(tensor, b["model"][name], atol=1e-6, rtol=0), name


def test_two_processes_of_b_streams_train_as_one_process_of_2b(runs):
    out, _, _ = runs
    two, one = last(out / "two"), last(out / "one")
    assert two["step"] == one["step"] == 20
    assert_same_training(two, one)
    # the first evaluation (step 10, sharded over the two ranks) scores the same weights
    assert two["training"]["evals"][0]["loss_nats"] == pytest.approx(
        one["training"]["evals"][0]["loss_nats"], rel=1e-6)


def test_each_rank_carries_the_state_of_its_own_streams(runs):
    """The buffer trap: had rank 0's carried state been broadcast to rank 1 (as DDP does to
    a state kept in a module buffer), rank 1's slice would equal rank 0's, not rows B..2B-1
    of the one-process state."""
    out, _, _ = runs
    carried = [s[0] for s in last(out / "two")["training"]["task"]["carry"]]  # per rank
    whole = last(out / "one")["training"]["task"]["carry"][0][0]  # (L, 2B, H)
    assert [c.shape[1] for c in carried] == [B, B]
    assert torch.allclose(carried[0], whole[:, :B], atol=1e-6)
    assert torch.allclose(carried[1], whole[:, B:], atol=1e-6)
    assert (carried[0] - carried[1]).abs().max() > 0.1  # the check above can fail
    model = load(out / "two").model
    assert list(model.buffers()) == []  # the state is never a buffer


def test_sharded_evaluation_equals_one_process_scoring_the_same_weights(runs):
    out, config, _ = runs
    two = last(out / "two")
    model = load(out / "two" / "last.pt").model
    corpus = load_corpus(config.corpus)
    valid = encode_splits(corpus.splits, "word", load(out / "two").vocab)["valid"]
    alone = evaluate_stream(model, valid, config.eval_batch_size, config.window,
                            config.eval_max_tokens)
    sharded = two["training"]["evals"][-1]
    assert sharded["step"] == 20 and sharded["tokens"] == alone["tokens"]
    assert sharded["loss_nats"] == pytest.approx(alone["loss_nats"], rel=1e-6)
    assert sharded["bits_per_char"] == pytest.approx(alone["bits_per_char"], rel=1e-6)


def test_rank_0_alone_writes_and_reports(runs):
    out, _, done = runs
    summary = json.loads(done.stdout)  # one JSON object: rank 1 printed nothing
    assert summary["steps"] == 20
    manifest = json.loads((out / "two" / "manifest.json").read_text())
    assert manifest["distributed"]["world_size"] == 2
    assert manifest["distributed"]["backend"] == "gloo"
    assert [d["device"] for d in manifest["distributed"]["devices"]] == ["cpu", "cpu"]
    assert sorted(p.name for p in out.iterdir()) == ["one", "two"]  # no lock or stray folder


def test_resumed_by_two_processes_goes_on_as_one_process_of_2b(runs, run_torchrun):
    out, config, _ = runs
    done = run_torchrun("train", "--resume", str(out / "two"), "--max-steps", "30",
                        "--out", str(out / "two-more"), "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    one = replace(config, batch_size=2 * B, engine=replace(config.engine, max_steps=30))
    run_train(one, out=out / "one-more", resume=out / "one")
    assert_same_training(last(out / "two-more"), last(out / "one-more"))
    manifest = json.loads((out / "two-more" / "manifest.json").read_text())
    assert "resume_changes" not in manifest  # the same world size: nothing recomputed


def test_resumed_by_one_process_recomputes_the_layout_and_says_so(runs):
    out, config, _ = runs
    alone = replace(config, engine=replace(config.engine, max_steps=30))
    run = run_train(alone, out=out / "alone", resume=out / "two")
    assert run.metrics["steps"] == 30
    changes = json.loads((out / "alone" / "manifest.json").read_text())["resume_changes"]
    assert changes["world_size"] == [2, 1] and changes["streams"] == [2 * B, B]
    assert changes["carried_state"].startswith("reset")
    saved = last(out / "two")["training"]["task"]
    train = encode_splits(load_corpus(config.corpus).splits, "word", load(out / "two").vocab)
    windows = len(LMBatches(train["train"].ids, B, config.window))  # one process's epoch
    # the same fraction of an epoch of B streams, twice as long as one of 2B
    assert changes["window"] == [saved["window"], saved["window"] * windows // saved["windows"]]

"""Learning-rate schedules: warm-up, cosine over steps or over the time budget, checkpointing."""

import pytest
import torch

from seqlm.config import ScheduleConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask
from seqlm.training.schedule import LRSchedule
from training.test_lm_training import small_config


def test_step_horizon_warms_up_then_decays_to_the_floor():
    s = LRSchedule(ScheduleConfig(lr=1.0, warmup_steps=10, min_lr_ratio=0.1), total_steps=110)
    assert s.lr(0) == pytest.approx(0.1)
    assert s.lr(9) == pytest.approx(1.0)
    assert s.lr(10) == pytest.approx(1.0)
    assert s.lr(60) == pytest.approx(0.55)  # half-way: (1 + 0.1) / 2
    assert s.lr(110) == pytest.approx(0.1)
    assert s.lr(500) == pytest.approx(0.1)


def test_time_horizon_follows_seconds_not_steps():
    config = ScheduleConfig(lr=1.0, warmup_steps=2, min_lr_ratio=0.0, horizon="time")
    s = LRSchedule(config, total_steps=10**6, total_seconds=100.0)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    assert s.apply(optimizer, 0, seconds=0.0) == pytest.approx(0.5)
    assert s.apply(optimizer, 2, seconds=20.0) == pytest.approx(1.0)  # warm-up ends: t_w = 20 s
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0)
    mid = s.lr(3, seconds=60.0)
    assert mid == pytest.approx(0.5)  # half of the 80 s left
    assert s.lr(10**5, seconds=60.0) == pytest.approx(mid)  # the step count does not matter
    assert s.lr(4, seconds=100.0) == pytest.approx(0.0)
    assert s.lr(5, seconds=150.0) == pytest.approx(0.0)
    again = LRSchedule(config, total_steps=10**6, total_seconds=100.0)
    again.load_state_dict(s.state_dict())
    assert again.lr(3, seconds=60.0) == pytest.approx(mid)  # t_w travels in checkpoints


def test_time_horizon_needs_a_budget_and_names_the_fix():
    with pytest.raises(SeqlmError, match="--max-minutes"):
        LRSchedule(ScheduleConfig(horizon="time"), total_steps=10)
    with pytest.raises(SeqlmError, match="horizon"):
        LRSchedule(ScheduleConfig(horizon="epochs"), total_steps=10)


def test_a_time_horizon_run_stops_at_the_budget_with_the_rate_at_its_floor(tmp_path):
    config = small_config(max_steps=10**6, max_minutes=0.03, eval_every=10**6, log_every=1,
                          schedule=ScheduleConfig(lr=5e-3, warmup_steps=3, min_lr_ratio=0.1,
                                                  horizon="time"))
    corpus = load_corpus(config.corpus)
    vocab = build_vocab(corpus.text("train"), config.model)
    streams = encode_splits(corpus.splits, "word", vocab)
    torch.manual_seed(0)
    task = LMTask(config, vocab, streams["train"], streams["valid"], torch.device("cpu"))
    result = Engine(task, build_model("lm", config, vocab), config.engine, tmp_path).run()
    assert result.status == "time budget"
    assert result.position.seconds >= 0.03 * 60
    rates = [row["lr"] for row in result.history]
    assert rates[2] == pytest.approx(5e-3)  # warm-up done
    assert all(b <= a + 1e-12 for a, b in zip(rates[3:], rates[4:], strict=False))  # decays
    assert rates[-1] < 0.5 * 5e-3  # most of the decay happened within the budget

"""The engine acts on what the ranks agree, not on what its own rank sees: another rank's
Ctrl-C or clock stops it at the same update (in one process, with the other ranks' answers
played by a stand-in `World`); and the process-group settings are checked before joining."""

from dataclasses import dataclass, replace

import pytest
import torch

from seqlm.config import CorpusConfig, EngineConfig, LMConfig, ScheduleConfig, TrainConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.training.distributed import Launch, World, launched, rank_placement, rank_seed
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask


@dataclass(frozen=True)
class OtherRanks(World):
    """One process whose peers report a stop, or a later clock, from update `at` on."""

    at: int = 3
    seconds: float = 0.0
    stop: bool = False
    steps: list = None  # the updates at which the engine asked

    def agree_step(self, seconds: float, stop: bool) -> tuple[float, bool]:
        self.steps.append(len(self.steps) + 1)
        if len(self.steps) >= self.at:
            return max(seconds, self.seconds), stop or self.stop
        return seconds, stop


def engine(world: World, out, **options) -> Engine:
    config = TrainConfig(
        corpus=CorpusConfig(name="verbs", size=200),
        model=LMConfig(cell="gru", unit="word", embedding_dim=8, hidden_size=8, num_layers=1,
                       dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=1e-2, warmup_steps=0), max_steps=20,
                            eval_every=100, log_every=1, threads=1, device="cpu", **options),
        batch_size=2, window=4, eval_max_tokens=50)
    corpus = load_corpus(config.corpus)
    vocab = build_vocab(corpus.text("train"), config.model)
    streams = encode_splits(corpus.splits, "word", vocab)
    task = LMTask(config, vocab, streams["train"], streams["valid"], torch.device("cpu"))
    return Engine(task, build_model("lm", config, vocab), config.engine, out, world=world)


def test_another_ranks_stop_request_stops_this_rank_at_the_same_update(tmp_path):
    e = engine(OtherRanks(at=3, stop=True, steps=[]), tmp_path)
    result = e.run(should_stop=lambda: False)  # this rank was never asked to stop
    assert result.status == "interrupted" and result.position.step == 3


def test_another_ranks_clock_ends_the_time_budget_here_too(tmp_path):
    e = engine(OtherRanks(at=4, seconds=120.0, steps=[]), tmp_path, max_minutes=1.0)
    result = e.run()
    assert result.status == "time budget" and result.position.step == 4
    assert result.position.seconds == 120.0  # the agreed clock, saved in last.pt


def test_rank_seeds_keep_rank_0_and_differ_elsewhere():
    assert rank_seed(7, 0) == 7
    assert len({rank_seed(7, r) for r in range(1, 5)} | {7}) == 5


def test_torchrun_settings_are_checked_before_joining(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launched() is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(SeqlmError, match="RANK=2 is not below WORLD_SIZE=2"):
        launched()
    two = Launch(rank=1, size=2, local_rank=1)
    with pytest.raises(SeqlmError, match="use --device cuda .*local rank's GPU"):
        rank_placement("cuda:0", "auto", two)
    assert rank_placement("cpu", "auto", two).device == torch.device("cpu")
    if not torch.cuda.is_available():
        assert rank_placement("auto", "auto", two).device == torch.device("cpu")
        with pytest.raises(SeqlmError, match="this machine has 0 CUDA device"):
            rank_placement("cuda", "auto", two)
    with pytest.raises(SeqlmError, match="EngineConfig|distributed_timeout"):
        replace(EngineConfig(), distributed_timeout=0)

"""The carried state in last.pt is every stream's, in the order of the whole layout: a rank
takes its own rows back whatever slicing wrote them, and another layout resets it and keeps
the fraction of the epoch (in one process: a rank's task needs no process group)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from seqlm.config import CorpusConfig, EngineConfig, LMConfig, TrainConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.training.distributed import World
from seqlm.training.lm import LMTask

CONFIG = TrainConfig(corpus=CorpusConfig(name="verbs", size=200),
                     model=LMConfig(cell="gru", unit="word", hidden_size=3, num_layers=2),
                     engine=EngineConfig(device="cpu"), batch_size=2, window=4)


@pytest.fixture(scope="module")
def train():
    corpus = load_corpus(CONFIG.corpus)
    vocab = build_vocab(corpus.text("train"), CONFIG.model)
    return vocab, encode_splits(corpus.splits, "word", vocab)["train"]


def task(train, size: int, rank: int, batch: int, accumulate: int = 1) -> LMTask:
    config = replace(CONFIG, batch_size=batch,
                     engine=replace(CONFIG.engine, accumulate=accumulate))
    return LMTask(config, train[0], train[1], None, torch.device("cpu"),
                  world=World(rank=rank, size=size))


def state_of_rows(rows: int) -> tuple[torch.Tensor]:
    """A carried state (L=2, rows, H=3) whose entries name their row."""
    return (torch.arange(rows, dtype=torch.float32)[None, :, None].expand(2, rows, 3).clone(),)


def test_a_rank_takes_its_own_rows_back_from_any_slicing(train):
    one = task(train, 1, 0, batch=8)
    one.carry = [state_of_rows(8)]
    saved = one.merge([one.state_dict()])
    # 2 ranks x 2 micro-batches x 2 streams: the same 8 streams, sliced otherwise
    rank1 = task(train, 2, 1, batch=2, accumulate=2)
    assert rank1.load_state_dict(saved) == {}
    assert [p[0][0, :, 0].tolist() for p in rank1.carry] == [[4.0, 5.0], [6.0, 7.0]]
    assert rank1.window == one.window


def test_another_layout_resets_the_state_and_keeps_the_fraction_of_the_epoch(train):
    one = task(train, 1, 0, batch=4)
    one.window = len(one.streams) // 2
    one.carry = [state_of_rows(4)]
    old = one.state_dict()
    del old["rows"], old["windows"]  # as written before several processes: read off the state
    rank0 = task(train, 2, 0, batch=4)
    changes = rank0.load_state_dict(old)
    assert changes["streams"] == [4, 8] and rank0.carry == [None]
    assert len(rank0.streams) < len(one.streams)
    assert rank0.window == one.window * len(rank0.streams) // len(one.streams)
    assert np.isclose(rank0.window / len(rank0.streams), 0.5, atol=2 / len(rank0.streams))

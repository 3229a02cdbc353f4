"""The one engine: accumulation equals a larger batch, mixed precision trains and loads across
precisions, devices resolve and are recorded, and both model families go through it."""

import json
from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load, read_checkpoint
from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    LMConfig,
    ScheduleConfig,
    Seq2SeqConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    TrainConfig,
    seq2seq_engine,
)
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.runs.lm import run_train
from seqlm.training.devices import Placement, cpu_bf16_supported, resolve_device
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask
from seqlm.training.seq2seq import train_seq2seq


def lm_config(batch_size: int, accumulate: int, **engine) -> TrainConfig:
    return TrainConfig(
        corpus=CorpusConfig(name="verbs", size=400),
        model=LMConfig(cell="gru", unit="word", embedding_dim=12, hidden_size=16, num_layers=2,
                       dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=1e-2, warmup_steps=2), max_steps=6,
                            eval_every=100, log_every=1, threads=1, device="cpu",
                            accumulate=accumulate, **engine),
        batch_size=batch_size, window=6, eval_max_tokens=200)


def train_lm_engine(config: TrainConfig, out) -> Engine:
    corpus = load_corpus(config.corpus)
    vocab = build_vocab(corpus.text("train"), config.model)
    streams = encode_splits(corpus.splits, "word", vocab)
    task = LMTask(config, vocab, streams["train"], streams["valid"], torch.device("cpu"))
    torch.manual_seed(config.seed)
    engine = Engine(task, build_model("lm", config, vocab), config.engine, out)
    engine.run()
    return engine


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module, atol: float) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(x, y, atol=atol, rtol=0), (name, (x - y).abs().max())


def test_accumulating_two_micro_batches_is_one_batch_twice_as_large_lm(tmp_path):
    big = train_lm_engine(lm_config(8, 1), tmp_path / "big")
    accumulated = train_lm_engine(lm_config(4, 2), tmp_path / "acc")
    assert [h["tokens_per_second"] > 0 for h in accumulated.history]
    assert [h["loss"] for h in big.history] == pytest.approx(
        [h["loss"] for h in accumulated.history], abs=1e-6)
    assert_same_weights(big.model, accumulated.model, atol=1e-6)


def test_accumulating_two_micro_batches_is_one_batch_twice_as_large_seq2seq(tmp_path):
    from seqlm.data.corpora.dates import generate_pairs
    from seqlm.data.pairs import PairVocabs

    pairs = generate_pairs(0, 60, "plain") + generate_pairs(0, 60, "long")
    vocabs = PairVocabs.build(pairs)

    def config(batch_size, accumulate):
        return Seq2SeqConfig(
            model=Seq2SeqModelConfig(attention="bahdanau", embedding_dim=8, hidden_size=12),
            train=Seq2SeqTrainConfig(batch_size=batch_size, eval_size=8),
            engine=replace(seq2seq_engine(), max_steps=5, eval_every=100, log_every=1,
                           accumulate=accumulate, device="cpu"))

    big, _ = train_seq2seq(config(16, 1), vocabs, pairs, pairs[:8], tmp_path / "big")
    accumulated, _ = train_seq2seq(config(8, 2), vocabs, pairs, pairs[:8], tmp_path / "acc")
    # equal up to the order of float additions, which Adam's per-weight normalisation
    # magnifies where a gradient is near zero: 1e-5 after five updates
    assert_same_weights(big.model, accumulated.model, atol=1e-5)


@pytest.fixture(scope="module")
def verbs_runs(tmp_path_factory):
    """The same short verbs run in fp32 and in bf16 (autocast) on the CPU."""
    out = tmp_path_factory.mktemp("precision")
    config = TrainConfig(
        corpus=CorpusConfig(name="verbs", size=3000),
        model=LMConfig(unit="word", embedding_dim=32, hidden_size=64, num_layers=1, dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=1e-2, warmup_steps=10), max_steps=150,
                            eval_every=150, threads=1, device="cpu", precision="fp32"),
        batch_size=16, window=20)
    fp32 = run_train(config, out=out / "fp32")
    bf16 = run_train(replace(config, engine=replace(config.engine, precision="bf16")),
                     out=out / "bf16")
    return out, fp32, bf16


@pytest.mark.skipif(not cpu_bf16_supported(), reason="this CPU has no bf16 kernels: "
                    "--precision bf16 runs fp32 (tests/training/test_devices.py)")
def test_bf16_training_on_the_cpu_reaches_the_fp32_loss(verbs_runs):
    _, fp32, bf16 = verbs_runs
    a = fp32.metrics["best_valid_full"]["loss_nats"]
    b = bf16.metrics["best_valid_full"]["loss_nats"]
    # stated margin: 0.05 nats per word (the recurrence's state and pointwise work in fp32,
    # its matrix products and the projection in bf16)
    assert abs(a - b) < 0.05, (a, b)
    manifest = json.loads((bf16.path / "manifest.json").read_text())
    assert manifest["placement"]["precision"] == "bf16"
    assert manifest["placement"]["device"] == "cpu"


def test_a_checkpoint_written_in_one_precision_loads_and_resumes_in_another(verbs_runs):
    out, _, bf16 = verbs_runs
    payload = read_checkpoint(bf16.path / "last.pt", "lm")
    config = TrainConfig(**{**vars(load(bf16.path).config)})
    config = replace(config, engine=replace(config.engine, precision="fp16",
                                            max_steps=payload["step"] + 5))
    resumed = run_train(config, out=out / "fp16", resume=bf16.path)
    assert resumed.metrics["steps"] == payload["step"] + 5
    fp32_view = load(resumed.path / "best.pt")  # weights are fp32 whatever the autocast dtype
    assert all(p.dtype == torch.float32 for p in fp32_view.model.parameters())


def test_devices_resolve_and_are_named():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = Placement.resolve("auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto.device.type in (expected, "mps")
    if not torch.cuda.is_available():
        with pytest.raises(SeqlmError, match="--device cuda:3: this machine has 0 CUDA"):
            resolve_device("cuda:3")
    assert Placement.resolve("cpu", "auto").precision == "fp32"
    with pytest.raises(SeqlmError, match="device"):
        EngineConfig(device="tpu")

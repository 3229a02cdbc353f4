"""`--tensorboard DIR`: the engine's history and evaluations written as TensorBoard events and
read back with TensorBoard's own reader; without the package, one line says what to install."""

import sys

import pytest

from report.tiny import tiny_lm
from seqlm.cli import main


def read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def test_training_logs_scalars_and_samples_that_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed: "
                        "pip install 'seqlm[tensorboard]' to run this test")
    from tensorboard.util.tensor_util import make_ndarray

    from seqlm.runs.lm import run_train

    run = run_train(tiny_lm(), out=tmp_path / "run", tensorboard=tmp_path / "tb")
    events = read_events(tmp_path / "tb")
    history, evals = run.metrics["history"], run.metrics["evals"]
    scalars = events.Tags()["scalars"]
    for tag in ("train/loss", "train/lr", "train/grad_norm", "train/tokens_per_second",
                "grad_norm/embedding", "grad_norm/layer0", "grad_norm/layer1", "grad_norm/proj",
                "valid/loss_nats", "valid/perplexity", "valid/bits_per_char"):
        assert tag in scalars, tag
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [h["step"] for h in history]
    assert [e.value for e in loss] == pytest.approx([h["loss"] for h in history], rel=1e-6)
    layer = events.Scalars("grad_norm/layer1")
    assert [e.value for e in layer] == pytest.approx([h["grad_norm/layer1"] for h in history],
                                                     rel=1e-6)
    valid = events.Scalars("valid/loss_nats")
    assert [(e.step, e.value) for e in valid] == [
        (e["step"], pytest.approx(e["loss_nats"], rel=1e-6)) for e in evals]
    for t in ("0.5", "0.8", "1.2"):
        sample = events.Tensors(f"samples/temperature_{t}/text_summary")
        assert [e.step for e in sample] == [e["step"] for e in evals]
        assert make_ndarray(sample[-1].tensor_proto).item().decode().strip()


def test_seq2seq_training_logs_exact_match(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from dataclasses import replace

    from seqlm.config import CorpusConfig, Seq2SeqConfig, seq2seq_engine
    from seqlm.runs.seq2seq import run_training

    config = Seq2SeqConfig(corpus=CorpusConfig(name="dates", size=200),
                           engine=replace(seq2seq_engine(), max_steps=4, eval_every=2,
                                          log_every=1, threads=1))
    run = run_training(config, out=tmp_path / "s2s", tensorboard=tmp_path / "tb")
    events = read_events(tmp_path / "tb")
    exact = events.Scalars("valid/exact")
    assert [e.value for e in exact] == pytest.approx([e["valid_exact"]
                                                      for e in run.metrics["evals"]])
    assert "train/teacher_prob" in events.Tags()["scalars"]


def test_without_tensorboard_the_error_is_one_line_and_nothing_is_made(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails
    out = tmp_path / "run"
    code = main(["train", "--corpus", "verbs", "--size", "300", "--max-steps", "2", "--quiet",
                 "--out", str(out), "--tensorboard", str(tmp_path / "tb")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "pip install 'seqlm[tensorboard]'" in err and "--tensorboard" in err
    assert not out.exists() and not (tmp_path / "tb").exists()
    for argv in (["seq2seq", "train"], ["compare", "--quick"], ["lab", "--quick"]):
        assert main([*argv, "--out", str(out), "--tensorboard", str(tmp_path / "tb")]) == 2
        assert "seqlm[tensorboard]" in capsys.readouterr().err
    assert not out.exists()

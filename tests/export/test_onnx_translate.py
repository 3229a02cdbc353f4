"""`seqlm seq2seq translate --runtime onnx`: greedy translation through the exported encoder
and decoder step gives torch's outputs, log-probabilities within 1e-5 and attention weights
within 1e-5, from an exported file or a run directory (exported in memory); beam search and
a source longer than the file's encoder are refused in one line."""

import json
from dataclasses import replace

import numpy as np
import pytest

import seqlm
from seqlm.config import (
    CorpusConfig,
    Seq2SeqConfig,
    Seq2SeqDecodeConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    seq2seq_engine,
)

SOURCES = ["March 14, 2024", "14/03/2024", "the 2nd of May 1999", "12 Dec 01", "7.7.1977"]


@pytest.fixture(scope="module")
def dates_run(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    config = Seq2SeqConfig(
        corpus=CorpusConfig(name="dates", size=300),
        model=Seq2SeqModelConfig(cell="lstm", embedding_dim=16, hidden_size=16,
                                 attention_size=16, attention="general"),
        train=Seq2SeqTrainConfig(batch_size=16, eval_size=16),
        engine=replace(seq2seq_engine(), max_steps=40, eval_every=40, threads=1,
                       device="cpu"))
    return seqlm.train(config, out=tmp_path_factory.mktemp("s2s") / "run").path


def translations(capsys, where, *options: str) -> list[dict]:
    from seqlm.cli import main

    capsys.readouterr()
    assert main(["seq2seq", "translate", str(where), *SOURCES, *options, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["translations"]


def test_onnx_greedy_equals_torchs(dates_run, tmp_path, capsys):
    from seqlm.cli import main

    out = tmp_path / "dates.onnx"
    assert main(["export", str(dates_run), "--format", "onnx", "--out", str(out),
                 "--source-length", "24", "--quiet"]) == 0
    want = translations(capsys, dates_run)
    assert len({round(t["logprob_nats"], 3) for t in want}) > 1  # the sources are read
    for where in (out, dates_run):  # the file alone, and the run exported in memory
        got = translations(capsys, where, "--runtime", "onnx")
        assert [t["output"] for t in got] == [t["output"] for t in want]
        assert np.allclose([t["logprob_nats"] for t in got],
                           [t["logprob_nats"] for t in want], atol=1e-5, rtol=0)


def test_onnx_attention_weights_equal_torchs(dates_run):
    from seqlm.checkpoint import load
    from seqlm.decoding.seq2seq import translate
    from seqlm.export.onnx_translate import translate as translate_onnx

    loaded = load(dates_run, "cpu", kind="seq2seq")
    want = translate(loaded.model, loaded.vocab, SOURCES)
    got = translate_onnx(dates_run, SOURCES, Seq2SeqDecodeConfig(batch_size=2,
                                                                         runtime="onnx"))
    for g, w in zip(got, want, strict=True):
        assert g.weights.shape == w.weights.shape == (len(g.output) + g.finished,
                                                      len(g.source))
        assert np.abs(g.weights - w.weights).max() < 1e-5


def test_onnx_translate_refusals_are_one_line(dates_run, tmp_path, capsys):
    from seqlm.cli import main

    out = tmp_path / "short.onnx"
    assert main(["export", str(dates_run), "--format", "onnx", "--out", str(out),
                 "--source-length", "8", "--quiet"]) == 0
    for args, needle in (([str(dates_run), "x", "--runtime", "onnx", "--beam-width", "3"],
                          "--runtime onnx"),
                         ([str(out), "March 14, 2024", "--runtime", "onnx"],
                          "--source-length")):
        capsys.readouterr()
        assert main(["seq2seq", "translate", *args]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err

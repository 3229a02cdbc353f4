"""`seqlm export --format onnx` and `seqlm sample --runtime onnx`: the ONNX step equals torch's
over 200 steps with its state fed back, for every cell, exported at batch 1 and run at batch 3;
the seq2seq encoder and decoder step (attention weights included) equal the model's own; the
same seed samples the same text through onnxruntime as through torch; without the extra, one
line names `pip install 'seqlm[onnx]'`."""

import importlib.util
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import seqlm
from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    LMConfig,
    Seq2SeqConfig,
    Seq2SeqModelConfig,
    TrainConfig,
    to_dict,
)
from seqlm.data.pairs import PairVocabs
from seqlm.data.vocab import Vocab
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model

TOLERANCE = 1e-5


@pytest.fixture
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def as_loaded(kind: str, config, vocab):
    """A freshly initialised model in the shape `seqlm.checkpoint.load` returns it."""
    model = build_model(kind, config, vocab).eval()
    return SimpleNamespace(kind=kind, model=model, payload={"config": to_dict(config),
                                                            "vocab": vocab.to_dict()})


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru", "mingru", "minlstm"])
def test_the_lm_step_equals_torch_over_200_steps_at_another_batch(ort, cell):
    from seqlm.export.onnx import lm_bytes
    from seqlm.export.onnx_runtime import OnnxLM, metadata, session

    torch.manual_seed(0)
    vocab = Vocab.build("the quick brown fox jumps over a lazy dog")
    config = TrainConfig(model=LMConfig(unit="char", cell=cell, embedding_dim=12,
                                        hidden_size=16, num_layers=2))
    loaded = as_loaded("lm", config, vocab)
    sess = session(lm_bytes(loaded))  # traced at batch 1
    lm = OnnxLM(sess, metadata(sess, "test"))
    tokens = np.random.default_rng(0).integers(4, len(vocab), size=(3, 200))  # batch 3
    state, torch_state, worst = lm.zeros(3), None, 0.0
    with torch.inference_mode():
        stepper = loaded.model.stepper()
        for t in range(200):
            logits, state = lm.run(tokens[:, t], state)
            expected, torch_state = stepper(torch.from_numpy(tokens[:, t]), torch_state)
            worst = max(worst, float(np.abs(logits - expected.numpy()).max()))
        sequence, _, final = loaded.model(torch.from_numpy(tokens))  # the sequence path
    assert logits.shape == (3, len(vocab)) and worst < TOLERANCE
    assert np.abs(logits - sequence[:, -1].numpy()).max() < TOLERANCE
    for got, want in zip(state, final, strict=True):
        assert np.abs(got - want.numpy()).max() < TOLERANCE


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_step_without_its_token_table_equals_torch(ort, cell, monkeypatch):
    """A vocabulary too large for layer 0's precomputed table (a word LM): the graph looks
    the embedding up and multiplies, and still equals torch."""
    from seqlm.export import onnx_cells
    from seqlm.export.onnx import lm_bytes
    from seqlm.export.onnx_runtime import OnnxLM, metadata, session

    monkeypatch.setattr(onnx_cells, "TABLE_LIMIT", 0)
    torch.manual_seed(1)
    vocab = Vocab.build("the quick brown fox jumps over a lazy dog")
    config = TrainConfig(model=LMConfig(unit="char", cell=cell, embedding_dim=12,
                                        hidden_size=16, num_layers=2))
    loaded = as_loaded("lm", config, vocab)
    data = lm_bytes(loaded)
    import onnx

    gemms = [n for n in onnx.load_from_string(data).graph.node if n.op_type == "Gemm"]
    assert len(gemms) == 5  # layer 0's input product is back: 2 per layer and the logits
    sess = session(data)
    lm = OnnxLM(sess, metadata(sess, "test"))
    tokens = np.random.default_rng(1).integers(4, len(vocab), size=(2, 50))
    logits, state = lm.run(tokens[:, 0], lm.zeros(2))
    for t in range(1, 50):
        logits, state = lm.run(tokens[:, t], state)
    with torch.inference_mode():
        sequence, _, _ = loaded.model(torch.from_numpy(tokens))
    assert np.abs(logits - sequence[:, -1].numpy()).max() < TOLERANCE


def test_the_lstm_step_graph_holds_no_shape_arithmetic(ort):
    """The step is its products and the cell's elementwise nodes (`seqlm.export.onnx_cells`):
    no Shape / Slice / Div that `chunk` traces to; 2 layers of an LSTM in 33 nodes."""
    import onnx

    from seqlm.export.onnx import lm_bytes

    vocab = Vocab.build("the quick brown fox")
    config = TrainConfig(model=LMConfig(unit="char", cell="lstm", embedding_dim=8,
                                        hidden_size=8, num_layers=2))
    nodes = [n.op_type for n in onnx.load_from_string(
        lm_bytes(as_loaded("lm", config, vocab))).graph.node if n.op_type != "Constant"]
    assert not {"Shape", "Slice", "Div"} & set(nodes) and len(nodes) <= 33, nodes


@pytest.mark.parametrize(("cell", "attention"), [("gru", "bahdanau"), ("lstm", "general"),
                                                 ("lstm", "none")])
def test_the_seq2seq_encoder_and_decoder_step_equal_torch(ort, cell, attention):
    from seqlm.export.onnx import seq2seq_bytes
    from seqlm.export.onnx_runtime import OnnxSeq2Seq, metadata, session

    torch.manual_seed(0)
    vocab = PairVocabs.build([("july 19 1980", "1980-07-19"), ("9/17/76", "1976-09-17")])
    config = Seq2SeqConfig(model=Seq2SeqModelConfig(cell=cell, attention=attention,
                                                    embedding_dim=8, hidden_size=8,
                                                    attention_size=8))
    loaded = as_loaded("seq2seq", config, vocab)
    encoder_bytes, decoder_bytes = seq2seq_bytes(loaded, 14, "unused.decoder.onnx")
    encoder = session(encoder_bytes)
    onnx = OnnxSeq2Seq(encoder, session(decoder_bytes), metadata(encoder, "test"))
    source = np.random.default_rng(1).integers(4, len(vocab.source), size=(3, 12))
    lengths = np.array([12, 7, 3])  # padded rows: the encoder is told their lengths
    source[1, 7:], source[2, 3:] = 0, 0
    memory, state = onnx.encode(source, lengths)
    previous = np.full(3, 2)
    with torch.inference_mode():
        torch_memory, torch_state = loaded.model.encode(torch.from_numpy(source),
                                                        torch.from_numpy(lengths))
        for _ in range(20):
            logits, state, weights = onnx.step(previous, state, memory)
            expected, torch_state, torch_weights = loaded.model.step(
                torch.from_numpy(previous), torch_state, torch_memory)
            assert np.abs(logits - expected.numpy()).max() < TOLERANCE
            for got, want in zip(state, torch_state, strict=True):
                assert np.abs(got - want.numpy()).max() < TOLERANCE
            if attention == "none":
                assert weights is None
            else:  # (B, S): the graph's S, zero on the padding past the source
                assert weights.shape == (3, 14) and not weights[:, 12:].any()
                assert np.abs(weights[:, :12] - torch_weights.numpy()).max() < TOLERANCE
            previous = logits.argmax(1)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("onnx")
    config = TrainConfig(
        corpus=CorpusConfig(name="verbs", size=300),
        model=LMConfig(unit="word", cell="gru", embedding_dim=8, hidden_size=16),
        engine=EngineConfig(max_steps=4, eval_every=4, threads=1, device="cpu"),
        batch_size=4, window=8, eval_max_tokens=200)
    return seqlm.train(config, out=root / "run").path


def sample_texts(capsys, *args: str) -> str:
    from seqlm.cli import main

    assert main(["sample", *args, "--length", "80", "--quiet"]) == 0
    return capsys.readouterr().out


def test_onnx_sampling_draws_torchs_tokens_from_the_file_alone(ort, lm_run, tmp_path,
                                                                capsys):
    from seqlm.cli import main

    out = tmp_path / "lm.onnx"
    assert main(["export", str(lm_run), "--format", "onnx", "--out", str(out)]) == 0
    alone = tmp_path / "elsewhere" / "copy.onnx"  # nothing but the file: vocab, config inside
    alone.parent.mkdir()
    shutil.copy(out, alone)
    capsys.readouterr()
    for rule in (["--seed", "1"], ["--seed", "2", "--top-k", "5", "--temperature", "1.3"],
                 ["--seed", "3", "--top-p", "0.9", "--repetition-penalty", "1.3"],
                 ["--temperature", "0"]):
        torch_text = sample_texts(capsys, str(lm_run), *rule)
        assert sample_texts(capsys, str(alone), "--runtime", "onnx", *rule) == torch_text
        assert sample_texts(capsys, str(lm_run), "--runtime", "onnx", *rule) == torch_text


def one_line_error(capsys, code: int, needle: str) -> None:
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_without_the_extra_one_line_names_it(lm_run, tmp_path, monkeypatch, capsys):
    from seqlm.cli import main

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in (
        "onnx", "onnxruntime", "onnxscript") else found(name, *a))
    one_line_error(capsys, main(["sample", str(lm_run), "--runtime", "onnx"]),
                   "pip install 'seqlm[onnx]'")
    one_line_error(capsys, main(["export", str(lm_run), "--format", "onnx", "--out",
                                 str(tmp_path / "x.onnx")]), "pip install 'seqlm[onnx]'")
    assert not (tmp_path / "x.onnx").exists()


def test_onnx_refusals_are_one_line(ort, lm_run, tmp_path, capsys):
    from seqlm.cli import main

    out = tmp_path / "lm.onnx"
    assert main(["export", str(lm_run), "--format", "onnx", "--out", str(out)]) == 0
    capsys.readouterr()
    one_line_error(capsys, main(["export", str(lm_run), "--format", "onnx", "--out",
                                 str(out)]), "pass --overwrite")
    assert main(["export", str(lm_run), "--format", "onnx", "--out", str(out),
                 "--overwrite"]) == 0
    mine = tmp_path / "mine.onnx"
    mine.write_bytes(b"a user's file")
    one_line_error(capsys, main(["export", str(lm_run), "--format", "onnx", "--out",
                                 str(mine), "--overwrite"]), "not an ONNX file seqlm wrote")
    assert mine.read_bytes() == b"a user's file"
    one_line_error(capsys, main(["sample", str(out), "--runtime", "onnx", "--beam-width",
                                 "3"]), "--runtime onnx")
    one_line_error(capsys, main(["sample", str(mine), "--runtime", "onnx"]), str(mine))


def test_a_seq2seq_run_exports_to_an_encoder_and_its_decoder(ort, tmp_path, capsys):
    from dataclasses import replace

    from seqlm.checkpoint import load
    from seqlm.cli import main
    from seqlm.config import Seq2SeqTrainConfig, seq2seq_engine
    from seqlm.export.onnx_runtime import load_onnx

    config = Seq2SeqConfig(
        corpus=CorpusConfig(name="dates", size=100),
        model=Seq2SeqModelConfig(embedding_dim=8, hidden_size=8, attention_size=8,
                                 attention="bahdanau"),
        train=Seq2SeqTrainConfig(batch_size=8, eval_size=8),
        engine=replace(seq2seq_engine(), max_steps=2, eval_every=2, threads=1, device="cpu"))
    run = seqlm.train(config, out=tmp_path / "run").path
    out = tmp_path / "dates.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out),
                 "--source-length", "20"]) == 0
    assert (tmp_path / "dates.decoder.onnx").is_file()
    onnx = load_onnx(out).model  # the encoder file finds its decoder beside it
    model = load(run).model
    source = np.array([[5, 6, 7, 8, 9]])
    memory, state = onnx.encode(source, np.array([5]))
    logits, _, weights = onnx.step(np.array([2]), state, memory)
    with torch.inference_mode():
        m, s = model.encode(torch.from_numpy(source), torch.tensor([5]))
        expected, _, expected_weights = model.step(torch.tensor([2]), s, m)
    assert np.abs(logits - expected.numpy()).max() < TOLERANCE
    assert np.abs(weights[:, :5] - expected_weights.numpy()).max() < TOLERANCE
    with pytest.raises(SeqlmError, match="longer than the ONNX encoder's 20"):
        onnx.encode(np.ones((1, 21), dtype=np.int64), np.array([21]))
    capsys.readouterr()

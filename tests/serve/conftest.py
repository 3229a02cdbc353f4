"""Tiny models for the server's tests, trained once per session in a few seconds: a char LSTM
LM on the verbs corpus, a GRU seq2seq with attention on dates, a word trigram ARPA file."""

import pathlib
import warnings
from dataclasses import replace

import pytest

import seqlm
from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    LMConfig,
    NgramConfig,
    Seq2SeqConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    ServeConfig,
    TrainConfig,
    seq2seq_engine,
)

pytest.importorskip("starlette", reason="pip install 'seqlm[serve]' (the dev extra has it)")

NGRAM_TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 5


def train_models(root: pathlib.Path) -> dict[str, pathlib.Path]:
    lm = TrainConfig(
        corpus=CorpusConfig(name="verbs", size=300),
        model=LMConfig(unit="char", embedding_dim=8, hidden_size=16, num_layers=2, dropout=0.0),
        engine=EngineConfig(max_steps=3, eval_every=3, threads=1, device="cpu"),
        batch_size=8, window=16, eval_max_tokens=200)
    dates = Seq2SeqConfig(
        corpus=CorpusConfig(name="dates", size=100),
        model=Seq2SeqModelConfig(cell="gru", attention="bahdanau", embedding_dim=8,
                                 hidden_size=8, attention_size=8),
        train=Seq2SeqTrainConfig(batch_size=8, eval_size=8),
        engine=replace(seq2seq_engine(), max_steps=2, eval_every=2, threads=1, device="cpu"))
    found = {"chars": seqlm.train(lm, out=root / "chars").path,
             "dates": seqlm.train(dates, out=root / "dates").path}
    from seqlm.ngram import fit, write_arpa

    with warnings.catch_warnings():  # a text this small needs kenlm's fallback discounts
        warnings.simplefilter("ignore")
        model = fit(NGRAM_TEXT, NgramConfig(order=3, unit="word", smoothing="kn"))
    found["words"] = write_arpa(model, root / "words.arpa")
    return found


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """(config, models) over the three tiny models, loaded and warmed as `seqlm serve` does."""
    from seqlm.serve.models import load_models

    paths = train_models(tmp_path_factory.mktemp("serve"))
    config = ServeConfig(runs=tuple(str(p) for p in paths.values()), port=0)
    return config, load_models(config)


@pytest.fixture(scope="session")
def client(served):
    from seqlm.serve.app import build_app

    with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx still works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    with TestClient(build_app(served[1], served[0])) as c:
        yield c

"""A neural run as a mixture component: its per-token scores add up to `seqlm.load(...).score`,
and it mixes with an n-gram model of the same unit."""

import warnings

import numpy as np
import pytest

from seqlm.api import load
from seqlm.config import CorpusConfig, EngineConfig, LMConfig, NgramConfig, TrainConfig
from seqlm.lab.mix import NeuralScorer, mix
from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.fit import fit
from seqlm.runs.lm import run_train

TEXT = "".join(f"the {w} sat on the mat .\n" for w in ["cat", "dog", "cow", "hen"] * 30)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("neural")
    (root / "c.txt").write_text(TEXT)
    config = TrainConfig(
        corpus=CorpusConfig(name=f"file:{root / 'c.txt'}", valid_fraction=0.2),
        model=LMConfig(cell="lstm", unit="char", embedding_dim=8, hidden_size=16,
                       num_layers=1, dropout=0.0),
        engine=EngineConfig(max_steps=20, eval_every=10, log_every=10, threads=1,
                            device="cpu"),
        batch_size=4, window=16, eval_max_tokens=200)
    run_train(config, root / "run")
    return root


def test_neural_token_scores_add_up_to_its_score(run_dir):
    lm = load(run_dir / "run")
    text = TEXT[:300]
    lp = NeuralScorer(lm).token_logprobs(text)
    assert np.isnan(lp[0]) and not np.isnan(lp[1:]).any()
    assert -lp[1:].mean() == pytest.approx(lm.score(text)["loss_nats"], rel=1e-5)


def test_neural_and_ngram_mix(run_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ngram = fit(TEXT, NgramConfig(order=3, unit="char"))
    write_arpa(ngram, run_dir / "c.arpa")
    report = mix([f"run:{run_dir / 'run'}", str(run_dir / "c.arpa")],
                 dev_text=TEXT[:400], test_text=TEXT[400:805])  # cut mid-line: a line end added
    assert report.weights.sum() == pytest.approx(1.0)
    assert np.all(np.diff(report.dev_nats) <= 1e-12) and report.skipped_tokens == 1
    assert report.mixture.nats <= max(c.nats for c in report.components)

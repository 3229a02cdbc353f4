"""`seqlm structure`: the brackets measures on hand-made scores, the scorers' alignment, a short
run on brackets that beats the n-gram baseline, and the analysis of a trained code model."""

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    LMConfig,
    NgramConfig,
    StructureConfig,
    TrainConfig,
    merge,
)
from seqlm.lab.structure import run_structure
from seqlm.lab.structure_brackets import (
    distance_bucket,
    layout,
    lm_next_probs,
    measure,
    ngram_next_probs,
)
from seqlm.ngram.fit import fit
from seqlm.nn.lm import RecurrentLM

PAIRS = "()[]"
SYMBOLS = PAIRS + "\n"


def oracle(lines: list[str]) -> np.ndarray:
    """Probabilities that put all mass on the character that comes."""
    text = layout(lines)
    probs = np.zeros((len(text), len(SYMBOLS)))
    for t in range(1, len(text)):
        probs[t, SYMBOLS.index(text[t])] = 1.0
    return probs


def test_measure_on_an_oracle_and_on_a_wrong_guess():
    lines = ["(())", "[]([])"]
    m = measure(lines, oracle(lines), PAIRS)
    assert m["closers"] == 5 and m["closing_accuracy"] == 1.0
    assert m["by_depth"] == {"1": {"correct": 3, "total": 3}, "2": {"correct": 2, "total": 2}}
    assert {k: (v["correct"], v["total"]) for k, v in m["by_distance"].items()} == \
        {"1": (3, 3), "2-3": (2, 2)}
    low, high = m["by_distance"]["2-3"]["interval"]  # Wilson, 2 of 2
    assert m["by_distance"]["2-3"]["accuracy"] == 1.0 and low == pytest.approx(0.3424, abs=1e-4)
    assert high == pytest.approx(1.0)
    # balanced non-empty prefixes: after "(())", after "[]", after "[]([])"
    assert m["balanced_prefixes"] == 3 and m["p_end_balanced"] == pytest.approx(2 / 3)
    assert m["p_closer_balanced"] == 0.0 and m["p_end_open"] == 0.0
    always_round = np.tile([0.0, 0.6, 0.0, 0.4, 0.0], (len(layout(lines)), 1))
    wrong = measure(lines, always_round, PAIRS)
    assert wrong["closing_accuracy"] == pytest.approx(3 / 5)  # the three ")" right
    assert wrong["p_closer_balanced"] == pytest.approx(1.0)
    assert [distance_bucket(d) for d in (1, 3, 5, 7, 9, 33)] == ["1", "2-3", "4-7", "4-7",
                                                                   "8-15", "32-63"]


def test_ngram_scores_line_by_line_from_the_sentence_start():
    lines = ["(())", "[]", "([])"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit("\n".join(lines * 20) + "\n", NgramConfig(order=3, unit="char"))
    probs = ngram_next_probs(model, lines, SYMBOLS)
    text = layout(lines)
    start = model.distribution(["<s>"])
    ids = [model.vocab.index[c] for c in PAIRS] + [model.vocab.index["</s>"]]
    for t in (1, 6, 9):  # the first character of each line
        assert text[t - 1] == "\n" and np.allclose(probs[t], start[ids])
    assert np.allclose(probs[5], model.distribution([")", ")"])[ids])  # end of "(())"
    assert probs[5, -1] > 0.9  # where the training strings end
    total = probs[1:].sum(axis=1)  # all but <unk>'s mass
    assert (total <= 1 + 1e-9).all() and (total > 0.95).all()


def test_lm_scores_equal_the_models_forward_pass():
    from seqlm.data.vocab import Vocab

    vocab = Vocab(list(SYMBOLS))
    torch.manual_seed(0)
    model = RecurrentLM(len(vocab), LMConfig(cell="gru", embedding_dim=4, hidden_size=8,
                                             num_layers=1, dropout=0.0)).eval()
    lines = ["(())", "[]([])", "()"]
    probs = lm_next_probs(model, vocab, lines, SYMBOLS, rows=1)
    text = layout(lines)
    with torch.no_grad():
        logits, _, _ = model(torch.from_numpy(vocab.encode(list(text)))[None])
    expected = torch.softmax(logits[0].double(), -1).numpy()[:-1, [vocab.stoi[c] for c in
                                                                    SYMBOLS]]
    assert np.allclose(probs[1:], expected, atol=1e-6)
    split = lm_next_probs(model, vocab, lines, SYMBOLS, rows=3)  # each line from a zero state
    assert np.allclose(split[1:6], probs[1:6], atol=1e-6)  # the first line is the same


@pytest.mark.slow
def test_a_short_run_on_brackets_beats_the_ngram(tmp_path):
    config = merge(StructureConfig(), {
        "cells": ["lstm"], "eval_strings": 300, "passage_chars": 1000, "heatmap_chars": 200,
        "trace_chars": 100, "train": {"engine": {"max_steps": 150}, "batch_size": 16,
                                      "window": 32, "corpus": {"size": 3000}}})
    run, section = run_structure(config, out=tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    models = manifest["metrics"]["models"]
    lstm, ngram = models["lstm"], models["ngram"]
    assert ngram["order"] == config.ngram_order
    assert lstm["valid"]["closing_accuracy"] > ngram["valid"]["closing_accuracy"]
    assert lstm["neurons"]["depth"]["units"][0]["r"] != 0
    for name in ("accuracy_depth.png", "accuracy_distance.png", "lstm/depth_heatmap.png",
                 "lstm/depth_trace.png"):
        assert (tmp_path / "s" / "structure" / name).is_file()
    assert "| lstm |" in section.markdown and "| ngram |" in section.markdown


@pytest.mark.slow
def test_analysing_a_trained_code_model(tmp_path):
    from seqlm.runs.lm import run_train

    code = tmp_path / "code"
    code.mkdir()
    for i in range(6):
        (code / f"m{i}.py").write_text(
            f"def f{i}(a, b=[1, 2]):\n    if a:\n        return {{'k': (a, b)}}\n"
            f"    s = \"({i}\"  # a comment )\n    return s\n\n\nclass C{i}:\n    pass\n" * 4)
    (code / "notes.txt").write_text("not code (\n")
    corpus = CorpusConfig(name=f"file:{code}", include=("*.py",))
    train = TrainConfig(corpus=corpus, model=LMConfig(cell="lstm", embedding_dim=8,
                                                       hidden_size=16, num_layers=1),
                        batch_size=4, window=16,
                        engine=EngineConfig(max_steps=5, eval_every=5, threads=1))
    trained = run_train(train, out=tmp_path / "lm")
    config = replace(StructureConfig(), samples=4, sample_length=80, passage_chars=600,
                     heatmap_chars=120, trace_chars=60, code_ngram_order=4)
    run, section = run_structure(config, target=trained.path, out=tmp_path / "s")
    metrics = json.loads((tmp_path / "s" / "manifest.json").read_text())["metrics"]
    for model in ("lm", "ngram"):
        checks = metrics["samples"][model]
        assert checks["brackets_balance"]["of"] == 4
        assert sum(checks["bracket_status"].values()) == 4
    assert set(metrics["neurons"]) == {"depth", "indent", "in_string"}
    assert all("units" in v for v in metrics["neurons"].values())
    for label in ("depth", "indent", "in_string"):
        assert (tmp_path / "s" / "structure" / "lstm" / f"{label}_heatmap.png").is_file()
    assert "brackets balance" in section.markdown


@pytest.mark.slow
def test_analysing_a_run_trained_on_brackets(tmp_path):
    from seqlm.config import BracketsConfig
    from seqlm.runs.lm import run_train

    corpus = CorpusConfig(name="brackets", size=400,
                          brackets=BracketsConfig(types=3, max_pairs=8, max_depth=4,
                                                  heldout_max_pairs=12, heldout_max_depth=6))
    train = TrainConfig(corpus=corpus, model=LMConfig(cell="gru", embedding_dim=8,
                                                       hidden_size=12, num_layers=1),
                        batch_size=4, window=16,
                        engine=EngineConfig(max_steps=3, eval_every=3, threads=1))
    trained = run_train(train, out=tmp_path / "lm")
    config = replace(StructureConfig(), eval_strings=40, passage_chars=300, heatmap_chars=80,
                     trace_chars=0, ngram_order=3)
    run, section = run_structure(config, target=trained.path, out=tmp_path / "s")
    models = run.metrics["models"]
    assert set(models) == {"gru", "ngram"} and models["ngram"]["order"] == 3
    assert models["gru"]["test"]["closers"] > models["gru"]["valid"]["closers"] > 0
    assert "Dyck-3 strings (1-8 pairs" in section.markdown  # the run's corpus, not the default
    assert (tmp_path / "s" / "structure" / "gru" / "depth_heatmap.png").is_file()


def test_the_command_wants_a_run_or_brackets(capsys):
    from seqlm.cli import main

    assert main(["structure"]) == 2
    assert "seqlm structure RUN" in capsys.readouterr().err
    assert main(["structure", "somewhere", "--quick"]) == 2
    assert "--quick" in capsys.readouterr().err
    assert main(["structure", "--brackets", "--bracket-types", "7"]) == 2
    err = capsys.readouterr().err
    assert "--bracket-types 7 is out of range: choose a value from 1 to 4" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["structure", "--brackets", "--steps", "0"]) == 2
    assert "--steps 0 is out of range: choose a value >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_the_lab_step_follows_compare_and_reports(tmp_path):
    from seqlm.config import LabConfig
    from seqlm.lab.steps import STEPS, run_lab

    names = list(STEPS)
    chapter = names[names.index("compare"):names.index("structure") + 1]
    assert chapter == ["compare", "sweep", "agreement", "structure"]  # the gated cells' story
    run = run_lab(LabConfig(quick=True, steps=("structure",), out=str(tmp_path / "lab")))
    report = (tmp_path / "lab" / "report.md").read_text()
    assert "## What the cells learn: brackets" in report and "| gru |" in report
    assert "Closing accuracy by characters from opener to closer" in report  # beside agreement
    far = run.metrics["structure"]["models"]["gru"]["valid"]["by_distance"]
    for entry in far.values():  # each bucket's accuracy inside its own interval
        low, high = entry["interval"]
        assert entry["accuracy"] == entry["correct"] / entry["total"]
        assert low - 1e-12 <= entry["accuracy"] <= high + 1e-12
    assert set(run.metrics["structure"]["models"]) == {"rnn", "lstm", "gru", "ngram"}
    assert "structure:brackets" in json.loads((tmp_path / "lab" / "manifest.json")
                                              .read_text())["data"]


@pytest.mark.slow
def test_the_command_end_to_end(tmp_path, capsys):
    from seqlm.cli import main

    out = tmp_path / "s"
    code = main(["structure", "--brackets", "--quick", "--steps", "4", "--bracket-types", "3",
                 "--ngram-order", "3", "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["run"] == str(out) and set(payload["models"]) == {"rnn", "lstm", "gru",
                                                                     "ngram"}
    manifest = json.loads((out / "manifest.json").read_text())
    config, train = manifest["config"], manifest["config"]["train"]
    assert (train["engine"]["max_steps"], config["ngram_order"],
            train["corpus"]["brackets"]["types"]) == (4, 3, 3)
    assert manifest["data"]["structure:brackets"]["brackets"]["pairs"] == "()[]{}"
    assert (out / "report.md").is_file()

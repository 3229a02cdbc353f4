"""The RNN / LSTM / GRU comparison end to end at a tiny budget on the verbs corpus."""

import json
from dataclasses import replace

from seqlm.config import QUICK_COMPARE, CompareConfig, CorpusConfig, LMConfig, merge
from seqlm.data.corpora import load_corpus
from seqlm.lab.compare import cell_model, run_compare
from seqlm.nn.lm import RecurrentLM, count_parameters


def test_matched_hidden_sizes_equalise_parameters():
    model = LMConfig(unit="char", hidden_size=64, embedding_dim=32, num_layers=2)
    target = count_parameters(RecurrentLM(70, model))
    for cell in ("rnn", "gru"):
        matched = cell_model(model, cell, 70)
        n = count_parameters(RecurrentLM(70, matched))
        assert matched.cell == cell and matched.hidden_size != 64
        assert abs(n - target) / target < 0.02, (cell, matched.hidden_size, n, target)
    assert cell_model(replace(model, cell="gru"), "lstm", 70) == model  # the LSTM sets it


def test_compare_runs_and_reports(tmp_path):
    config = merge(CompareConfig(), QUICK_COMPARE, {
        "train": {"corpus": {"name": "verbs"}, "final_eval_max_tokens": 1000,
                  "engine": {"max_steps": 6, "eval_every": 3}},
        "sample_length": 20, "decay_window": 10})
    run, section = run_compare(config, out=tmp_path / "cmp")
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    models = manifest["metrics"]["models"]
    assert set(models) == {"rnn", "lstm", "gru"}
    assert all(m["loss_nats"] > 0 and len(m["samples"]) == 3 for m in models.values())
    for name in ("loss_curves", "grad_norms", "gradient_decay"):
        assert (tmp_path / "cmp" / "compare" / f"{name}.png").is_file()
    assert "| lstm |" in section.markdown
    corpus = load_corpus(CorpusConfig(name="verbs"))
    assert manifest["data"]["compare:verbs"]["sha256"] == corpus.sha256


def test_matched_hidden_handles_the_minimal_cells():
    model = LMConfig(unit="char", hidden_size=64, embedding_dim=32, num_layers=2)
    target = count_parameters(RecurrentLM(70, model))
    for cell in ("mingru", "minlstm"):
        matched = cell_model(model, cell, 70)
        n = count_parameters(RecurrentLM(70, matched))
        assert abs(n - target) / target < 0.02, (cell, matched.hidden_size, n, target)


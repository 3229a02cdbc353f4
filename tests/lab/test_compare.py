"""The RNN / LSTM / GRU comparison end to end at a tiny budget on the verbs corpus."""

import json

from seqlm.config import CompareConfig, CorpusConfig, quick_compare
from seqlm.data.corpora import load_corpus
from seqlm.lab.compare import matched_hidden, model_config, run_compare
from seqlm.nn.lm import RecurrentLM, count_parameters


def test_matched_hidden_sizes_equalise_parameters():
    config = CompareConfig(lstm_hidden=64, embedding_dim=32)
    target = count_parameters(RecurrentLM(70, model_config(config, "lstm", 64)))
    for cell in ("rnn", "gru"):
        h = matched_hidden(config, cell, 70)
        n = count_parameters(RecurrentLM(70, model_config(config, cell, h)))
        assert abs(n - target) / target < 0.02, (cell, h, n, target)


def test_compare_runs_and_reports(tmp_path):
    config = quick_compare(CompareConfig(corpus="verbs"))
    config = type(config)(**{**config.__dict__, "steps": 6, "eval_every": 3,
                             "final_eval_max_tokens": 1000, "sample_length": 20,
                             "decay_window": 10})
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
    config = CompareConfig(lstm_hidden=64, embedding_dim=32)
    target = count_parameters(RecurrentLM(70, model_config(config, "lstm", 64)))
    for cell in ("mingru", "minlstm"):
        h = matched_hidden(config, cell, 70)
        n = count_parameters(RecurrentLM(70, model_config(config, cell, h)))
        assert abs(n - target) / target < 0.02, (cell, h, n, target)


"""A page for every kind of run, from small real runs: each parses, loads nothing from
elsewhere, holds every plot it names, and shows the run's own numbers. A training run writes
its page again after every evaluation (read here while it trains); `seqlm report RUN` writes
any run's page again."""

import json
from dataclasses import replace

import pytest

from report.page_checks import check_page, markdown_images
from report.tiny import tiny_lm
from seqlm.cli import main
from seqlm.config import (
    QUICK_COMPARE,
    ByHandConfig,
    CompareConfig,
    CorpusConfig,
    EvalConfig,
    NgramConfig,
    Seq2SeqConfig,
    Seq2SeqEvalConfig,
    merge,
    seq2seq_engine,
)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A trained LM run; the page as it stood during training, read after each step."""
    from seqlm.runs.lm import run_train

    out = tmp_path_factory.mktemp("lm") / "run"
    live: list[str] = []

    def look() -> bool:  # called after every update: read the page if it is there
        page = out / "report.html"
        if page.is_file() and not live:
            live.append(page.read_text())
        return False

    run_train(tiny_lm(), out=out, should_stop=look)
    return out, live


def test_a_training_page_shows_results_curves_and_samples(lm_run):
    out, live = lm_run
    assert live and "still running" in live[0] and "Training" in live[0]  # after evaluation 1
    found = check_page(out / "report.html")
    m = json.loads((out / "manifest.json").read_text())["metrics"]
    assert f"{m['best_valid_full']['loss_nats']:.4f} nats per token" in found.text
    assert len(found.images) == 2  # loss, gradient norms
    assert [s["temperature"] for s in m["samples"]] == [0.5, 0.8, 1.2]
    for s in m["samples"]:
        assert " ".join(s["text"].split()) in found.text
    assert any(k.startswith("grad_norm/layer1") for k in m["history"][0])  # per layer
    assert f"seqlm eval {out} --split valid" in found.text


def test_eval_and_report_command_pages(lm_run, tmp_path, capsys):
    from seqlm.runs.lm import run_eval

    run, metrics = run_eval(EvalConfig(checkpoint=str(lm_run[0]), max_tokens=200),
                            out=tmp_path / "eval")
    found = check_page(run.path / "report.html")
    assert f"{metrics['loss_nats']:.6g}" in found.text
    (run.path / "report.html").unlink()
    assert main(["report", str(run.path)]) == 0
    assert capsys.readouterr().out.strip() == str(run.path / "report.html")
    check_page(run.path / "report.html")
    assert main(["report", str(tmp_path)]) == 2  # not a run directory: one line, exit 2
    assert "is not a run directory" in capsys.readouterr().err


def test_a_seq2seq_training_page_shows_test_scores_errors_and_heatmaps(tmp_path):
    from seqlm.runs.seq2seq import run_training
    from seqlm.runs.seq2seq_eval import run_eval

    config = Seq2SeqConfig(corpus=CorpusConfig(name="dates", size=200),
                           engine=replace(seq2seq_engine(), max_steps=6, eval_every=3,
                                          threads=1))
    run = run_training(config, out=tmp_path / "s2s")
    found = check_page(run.path / "report.html")
    for regime, scores in run.metrics["test"].items():
        assert f"| {regime} |" not in found.text  # a table, not Markdown source
        assert f"{100 * scores['char_accuracy']['accuracy']:.2f}%" in found.text
    assert "Where the model looks" in found.headings and "written as" in found.text
    assert len(found.images) == 2 + 2  # curves, two heatmaps
    evaluated = run_eval(Seq2SeqEvalConfig(checkpoint=str(run.path)), out=tmp_path / "ev")
    check_page(evaluated.path / "report.html")
    for checkpoint in run.path.glob("*.pt"):  # the page is built from what the run wrote
        checkpoint.unlink()
    from seqlm.report.html import write_report

    assert len(check_page(write_report(run.path)).images) == 2 + 2


def test_compare_page_keeps_its_section_and_plots(tmp_path):
    from seqlm.lab.compare import run_compare

    config = merge(CompareConfig(), QUICK_COMPARE, {
        "train": {"corpus": {"name": "verbs"}, "final_eval_max_tokens": 500,
                  "engine": {"max_steps": 4, "eval_every": 2}},
        "sample_length": 20, "decay_window": 10})
    run, section = run_compare(config, out=tmp_path / "cmp")
    found = check_page(run.path / "report.html")
    assert section.title in found.headings
    assert len(found.images) == markdown_images(section.markdown) == 3
    assert "nats/char" in found.text and ("worse than RNN" in found.text
                                          or "better than RNN" in found.text
                                          or "within 0.01 nats/char" in found.text)


def test_ngram_by_hand_and_vanishing_pages(tmp_path):
    from seqlm.lab.byhand import run_by_hand
    from seqlm.lab.vanishing import lab_config, run_vanishing
    from seqlm.runs.ngram import ModelSource, eval_run, train_run

    ngram = NgramConfig(order=3, corpus=CorpusConfig(name="verbs", size=500))
    run, _, _ = train_run(ngram, out=tmp_path / "ng")
    assert "tokens" in check_page(run.path / "report.html").text
    run, report, _, _ = eval_run(ngram, ModelSource(), out=tmp_path / "ngeval")
    assert f"{report.perplexity:.6g}" in check_page(run.path / "report.html").text
    base = ByHandConfig()
    config = replace(base, train=replace(base.train, steps=20), out=str(tmp_path / "bh"))
    run, result = run_by_hand(config)
    token, p = result.steps[-1].top[0]
    assert f"first choice is {token} (p = {p:.3f})" in check_page(run.path / "report.html").text
    vanishing = replace(lab_config(quick=True, seed=0), out=str(tmp_path / "van"))
    run = run_vanishing(vanishing)
    found = check_page(run.path / "report.html")
    assert len(found.images) == 3 and "The serial computation" in found.text

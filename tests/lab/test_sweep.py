"""The budget sweep: the curve's intervals, the crossover read off the numbers, and the
sweep end to end at a tiny budget on the verbs corpus."""

import json

import pytest

from seqlm.config import SweepConfig, merge
from seqlm.errors import ConfigError
from seqlm.lab.sweep import crossover, curve, run_sweep, statement


def runs(table: dict[str, list[list[float]]], budgets=(10, 30, 90)) -> list[dict]:
    """{cell: [[seed values] per budget]} -> the sweep's run records."""
    return [{"cell": cell, "budget": b, "seed": s, "loss_nats": v}
            for cell, rows in table.items() for b, values in zip(budgets, rows, strict=True)
            for s, v in enumerate(values)]


def test_curve_means_and_intervals():
    config = SweepConfig(budgets=(10, 30, 90), cells=("rnn", "lstm"))
    points = curve(config, runs({"rnn": [[2.0, 2.2], [1.9, 1.9], [1.8, 1.8]],
                                 "lstm": [[2.5, 2.5], [2.0, 2.0], [1.5, 1.5]]}))
    rnn10 = points["rnn"]["10"]
    assert rnn10["mean"] == pytest.approx(2.1) and rnn10["seeds"] == 2
    # two seeds: half-width t_{0.975,1} * sd / sqrt(2) = 12.706 * 0.1414 / 1.414
    assert rnn10["high"] - rnn10["mean"] == pytest.approx(12.706 * 0.1, rel=1e-3)
    assert points["lstm"]["90"]["low"] == points["lstm"]["90"]["high"] == 1.5


def test_crossover_is_where_the_gated_cell_stays_ahead():
    config = SweepConfig(budgets=(10, 30, 90), cells=("rnn", "lstm", "gru"))
    points = curve(config, runs({
        "rnn": [[2.0, 2.0], [1.9, 1.9], [1.8, 1.8]],
        "lstm": [[1.9, 1.9], [2.0, 2.0], [1.5, 1.5]],  # ahead, behind, ahead: from 90 on
        "gru": [[2.1, 2.1], [2.0, 2.0], [1.9, 1.9]]}))  # never ahead
    cross = crossover(config, points)
    assert cross["lstm"] == {"budget": 90, "clear": True}  # zero-width intervals separate
    assert cross["gru"] == {"budget": None, "clear": False}
    text = " ".join(statement(config, cross))
    assert "LSTM overtakes the RNN from 90 steps" in text
    assert "GRU does not stay below the RNN within the swept budgets (largest 90" in text


def test_bad_budgets_and_seeds_are_refused():
    with pytest.raises(ConfigError, match="increasing"):
        SweepConfig(budgets=(300, 100))
    with pytest.raises(ConfigError, match="distinct"):
        SweepConfig(seeds=(1, 1))


@pytest.mark.slow
def test_sweep_runs_and_reports(tmp_path):
    config = merge(SweepConfig(), {"budgets": (2, 4), "seeds": (0, 1), "train": {
        "corpus": {"name": "verbs"}, "batch_size": 4, "window": 16,
        "final_eval_max_tokens": 500,
        "model": {"hidden_size": 12, "embedding_dim": 8, "num_layers": 1}}})
    run, section = run_sweep(config, out=tmp_path / "sw")
    manifest = json.loads((tmp_path / "sw" / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    got = manifest["metrics"]["runs"]
    assert len(got) == 2 * 2 * 3 and {r["steps"] for r in got} == {2, 4}
    assert set(manifest["metrics"]["curve"]) == {"rnn", "lstm", "gru"}
    assert (tmp_path / "sw" / "sweep" / "loss_by_budget.png").is_file()
    assert "seqlm compare --sweep --budgets 2 4 --seeds 0 1" in section.markdown


def test_the_stated_commands_rebuild_the_lab_configs():
    """The report's 'Reproduce:' line, parsed by the CLI, gives the very config that ran."""
    from seqlm.cli import build_parser
    from seqlm.cli.compare_modes import mode_config
    from seqlm.config import LAB_AGREEMENT, QUICK_SWEEP, AgreementConfig
    from seqlm.lab import agreement, sweep

    for config, command in ((merge(SweepConfig(), QUICK_SWEEP), sweep.command),
                            (merge(AgreementConfig(), LAB_AGREEMENT), agreement.command)):
        args = build_parser().parse_args(command(config).split()[1:])
        assert mode_config(args) == config

"""`seqlm compare --sweep`: RNN vs LSTM vs GRU over training budgets and seeds, at equal
parameters, with intervals, and the crossover read off the run's own numbers.

Every (budget, seed, cell) is one run of `seqlm compare`'s trainer (`compare.train_one`: the
same corpus, vocabulary, windows, optimiser and schedule; the cosine spans the budget, so a
budget is a whole schedule, not a point on a longer one), derived from the sweep's `train`.
Per budget and cell: the mean validation nats per character over the seeds and its 95%
Student-t interval (`metrics.mean_interval`). The crossover of a gated cell is the smallest
budget from which on its mean stays below the RNN's; it is called clear where the intervals
do not overlap there.
Out: a table, a plot of validation loss against budget (log axis, interval bars) and the
statement. Leaves out: equal wall-clock budgets (`seqlm compare --minutes`), per-cell tuning.
"""

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt

from seqlm.config import LAB_QUICK_SWEEP, QUICK_SWEEP, CompareConfig, SweepConfig, merge
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.lab.compare import CELL_TITLES, cell_model, changed_options, pick_corpus, train_one
from seqlm.lab.steps import LabContext, LabSection, lab_settings, run_section
from seqlm.metrics import mean_interval
from seqlm.progress import ProgressCallback
from seqlm.report.figures import save_figure
from seqlm.runs.run import Run


def compare_config(config: SweepConfig, steps: int, seed: int) -> CompareConfig:
    """The one `seqlm compare` run that a (budget, seed) of the sweep is: one validation
    pass, at the end, and gradient decay and samples cut to nothing."""
    train = config.train
    return CompareConfig(
        train=replace(train, seed=seed, corpus=replace(train.corpus, seed=seed),
                      engine=replace(train.engine, max_steps=steps, eval_every=steps)),
        fallback=config.fallback, cells=config.cells, decay_window=2, decay_rows=1,
        sample_length=1, temperatures=(1.0,))


def measure(config: SweepConfig, out_dir: Path, progress: ProgressCallback | None = None
            ) -> dict:
    """{corpus, note, hidden: {cell: h}, runs: [{budget, seed, cell, loss_nats, ...}]};
    the corpus is drawn with the first seed."""
    first = compare_config(config, config.budgets[0], config.seeds[0])
    corpus, corpus_cfg, note = pick_corpus(first)
    vocab = build_vocab(corpus.text("train"), config.train.model)
    streams = encode_splits(corpus.splits, config.train.model.unit, vocab)
    models = {cell: cell_model(config.train.model, cell, len(vocab)) for cell in config.cells}
    runs = []
    for steps in config.budgets:
        for seed in config.seeds:
            cc = compare_config(config, steps, seed)
            for cell in config.cells:
                r = train_one(cc, models[cell], corpus_cfg, vocab, streams,
                              out_dir / f"{steps}-{seed}", progress)
                runs.append({"budget": steps, "seed": seed, "cell": cell,
                             "parameters": r["parameters"], "steps": r["steps"],
                             "train_seconds": r["train_seconds"],
                             "loss_nats": r["valid"]["loss_nats"]})
    hidden = {cell: m.hidden_size for cell, m in models.items()}
    return {"corpus": corpus.name, "note": note, "hidden": hidden, "runs": runs,
            "curve": curve(config, runs), "crossover": crossover(config, curve(config, runs))}


def curve(config: SweepConfig, runs: list[dict]) -> dict:
    """{cell: {budget: {mean, low, high, seeds}}} of validation nats per character."""
    out: dict = {}
    for cell in config.cells:
        for steps in config.budgets:
            values = [r["loss_nats"] for r in runs if r["cell"] == cell and r["budget"] == steps]
            mean, low, high = mean_interval(values)
            out.setdefault(cell, {})[str(steps)] = {"mean": mean, "low": low, "high": high,
                                                    "seeds": len(values)}
    return out


def crossover(config: SweepConfig, points: dict) -> dict:
    """Per gated cell: the smallest budget from which on its mean stays below the RNN's
    (None: never within the sweep), and whether the intervals separate there."""
    if "rnn" not in points:
        return {}
    out = {}
    for cell in (c for c in config.cells if c != "rnn"):
        ahead = [points[cell][str(b)]["mean"] < points["rnn"][str(b)]["mean"]
                 for b in config.budgets]
        start = next((i for i in range(len(ahead)) if all(ahead[i:])), None)
        if start is None:
            out[cell] = {"budget": None, "clear": False}
            continue
        b = str(config.budgets[start])
        out[cell] = {"budget": config.budgets[start],
                     "clear": points[cell][b]["high"] < points["rnn"][b]["low"]}
    return out


def plot(config: SweepConfig, points: dict, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (cell, by_budget) in enumerate(points.items()):
        xs = [int(b) for b in by_budget]
        means = [p["mean"] for p in by_budget.values()]
        errors = [[p["mean"] - p["low"] for p in by_budget.values()],
                  [p["high"] - p["mean"] for p in by_budget.values()]]
        ax.errorbar(xs, means, yerr=errors, fmt="o-", color=f"C{i}", capsize=3,
                    label=CELL_TITLES.get(cell, cell))
    ax.set_xscale("log")
    ax.set_xlabel("training steps (each budget its own cosine schedule)")
    ax.set_ylabel("validation loss (nats per char)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def command(config: SweepConfig) -> str:
    """The command line that reproduces `config`'s numbers."""
    parts = ["seqlm compare --sweep", "--budgets", *map(str, config.budgets), "--seeds",
             *map(str, config.seeds)]
    return " ".join([*parts, *changed_options(config, SweepConfig(), (
        "train.model.hidden_size", "train.model.num_layers", "train.model.embedding_dim",
        "train.batch_size", "train.window", "train.engine.schedule.lr",
        "train.final_eval_max_tokens"))])


def render(config: SweepConfig, measured: dict, figure: str) -> str:
    points, budgets = measured["curve"], [str(b) for b in config.budgets]
    params = {r["cell"]: r["parameters"] for r in measured["runs"]}
    tc = config.train
    lines = [f"{measured['corpus']}, characters; {tc.model.num_layers} layers, embedding "
             f"{tc.model.embedding_dim}, LSTM hidden {tc.model.hidden_size} (others matched: "
             + ", ".join(f"{c} {h} ({params[c]:,} parameters)"
                         for c, h in measured["hidden"].items())
             + f"); batches of {tc.batch_size}x{tc.window}, Adam lr {tc.engine.schedule.lr}, "
             f"seeds {', '.join(map(str, config.seeds))}; the first "
             f"{tc.final_eval_max_tokens or 'all'} validation characters scored. "
             f"Reproduce: `{command(config)}`." + (f" {measured['note']}" if measured["note"]
                                                  else ""), "",
             "Validation nats/char, mean over seeds (95% interval):", "",
             "| cell | " + " | ".join(f"{b} steps" for b in budgets) + " |",
             "|---|" + "---|" * len(budgets)]
    for cell, by_budget in points.items():
        lines.append(f"| {CELL_TITLES.get(cell, cell)} | " + " | ".join(
            f"{p['mean']:.3f} ({p['low']:.3f}-{p['high']:.3f})"
            for p in (by_budget[b] for b in budgets)) + " |")
    lines += ["", *statement(config, measured["crossover"]), "", f"![{figure}]({figure})"]
    return "\n".join(lines)


def statement(config: SweepConfig, cross: dict) -> list[str]:
    out = []
    for cell, c in cross.items():
        name = CELL_TITLES.get(cell, cell)
        if c["budget"] is None:
            out.append(f"- {name} does not stay below the RNN within the swept budgets (largest "
                       f"{config.budgets[-1]} steps); see the trend in the table.")
        else:
            out.append(f"- {name} overtakes the RNN from {c['budget']} steps on "
                       + ("(intervals separate there)." if c["clear"]
                          else "(its interval still overlaps the RNN's there)."))
    return out


def sweep(config: SweepConfig, run: Run, progress: ProgressCallback | None = None,
          folder: str = "sweep") -> LabSection:
    measured = measure(config, run.path / folder, progress)
    figure = f"{folder}/loss_by_budget.png"
    plot(config, measured["curve"], run.artifact(f"{folder}_curve", figure),
         f"{measured['corpus']}: validation loss against budget")
    return LabSection("RNN vs LSTM vs GRU over budgets", render(config, measured, figure),
                      metrics=measured)


def lab_step(ctx: LabContext) -> LabSection:
    config = merge(SweepConfig(), lab_settings(ctx), QUICK_SWEEP,
                   LAB_QUICK_SWEEP if ctx.config.quick else {})
    return sweep(config, ctx.run, ctx.progress)


def run_sweep(config: SweepConfig, out=None, overwrite: bool = False, argv=None,
              progress: ProgressCallback | None = None) -> tuple[Run, LabSection]:
    """`seqlm compare --sweep` into its own run directory (report.md, report.html)."""
    return run_section("sweep", config, sweep, out, overwrite, argv, progress)

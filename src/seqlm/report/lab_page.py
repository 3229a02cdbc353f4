"""The lab's page: its sections in the order of the story, the headline numbers of this run
at the top (each linked to the command that reproduces it), and the measured statement of
why recurrence lost.

The commands: `seqlm lab --steps STEP` with the lab's seed (and `--quick`) reruns exactly
one section; where the experiment has a command of its own at the same settings, that is
named too. Headline numbers are read from the step's metrics; a skipped step has none.
Leaves out: comparing two labs.
"""

import shlex
from pathlib import Path
from typing import Any

from seqlm.report.page import Glance, Page, Section

Metrics = dict[str, Any]
CORPORA = {"tinyshakespeare": "Tiny Shakespeare", "verbs": "verbs", "dates": "dates"}
CELLS = {"rnn": "RNN", "rnn_relu": "ReLU RNN", "lstm": "LSTM", "gru": "GRU", "mingru": "minGRU",
         "minlstm": "minLSTM", "ngram": "n-gram"}

LEAD = (
    "Every experiment of seqlm, run end to end on this machine in the order of the story: the "
    "n-gram baseline every neural model must beat; a recurrent network written by hand in "
    "NumPy and read token by token; why its gradients vanish through time and why it cannot "
    "run in parallel; RNN against LSTM against GRU; what the cells learn about brackets; "
    "sequence-to-sequence with and without attention; and how recurrence came back. "
    "*Validation* is the held-back part of each corpus, used while training (choosing the "
    "best checkpoint); *test* is data that no choice looked at. Each section names the "
    "command that reproduces its numbers.")
QUICK = ("This is the quick lab (`--quick`): every budget is cut to seconds, so the numbers "
         "show that each part works and how it is measured, not what the models can reach. "
         "`seqlm lab` runs the full budgets (about 7 minutes on 2 cores).")


def lab_page(run_dir: Path, m: dict[str, Any]) -> Page:
    config, seed = m.get("config") or {}, m.get("seed")
    sections = [Section(s["title"], s["markdown"], lab_commands(s["step"], config, seed),
                        anchor=s["step"]) for s in m.get("sections", [])]
    lead = LEAD + ("\n\n" + QUICK if config.get("quick") else "")
    metrics = m.get("metrics", {})
    vanishing = metrics.get("vanishing", {})
    highlight = ("**Why recurrence lost, measured in this run.**\n\n" + vanishing["statement"]
                 if "statement" in vanishing else "")
    return Page("seqlm lab: language modelling before transformers", lead, sections,
                glance(metrics), highlight)


def lab_commands(step: str, config: dict[str, Any], seed: int | None) -> tuple[str, ...]:
    """The lab command that reruns `step` alone, then the experiment's own command if its
    settings are the lab's."""
    quick = bool(config.get("quick"))
    # the gated cells' lead (seqlm.lab.gating_lead) quotes these steps; it is no step itself
    steps = ["sweep", "agreement", "structure"] if step == "gating-lead" else [step]
    args = ["seqlm", "lab", "--steps", *steps, "--seed", str(seed)]
    args += ["--quick"] if quick else []
    args += ["--device", config["device"]] if config.get("device", "auto") != "auto" else []
    q = " --quick" if quick else ""
    own = {
        "corpora": ["seqlm data show verbs", "seqlm data show dates",
                    "seqlm data show tinyshakespeare"],
        "ngram": ["seqlm ngram eval --order 5 --smoothing mkn --corpus tinyshakespeare "
                  "--unit word --split valid"],
        "by-hand": [] if quick else [f"seqlm by-hand --seed {seed}"],
        "vanishing": [] if quick else [f"seqlm vanishing --seed {seed}"],
        "compare": [f"seqlm compare --seed {seed}{q}"],
        "structure": [f"seqlm structure --brackets --seed {seed}{q}"],
        "seq2seq": [f"seqlm seq2seq compare --preset {'quick' if quick else 'lab560h'} "
                    f"--seed {seed}"],
    }
    return (shlex.join(args), *own.get(step, []))


def glance(metrics: Metrics) -> list[Glance]:
    """The headline numbers of the steps that ran (skipped steps have none)."""
    rows: list[Glance] = []
    for step, rows_of in GLANCES.items():
        found = metrics.get(step)
        if isinstance(found, dict) and found and "skipped" not in found:
            rows += [Glance(what, value, step) for what, value in rows_of(found)]
    return rows


def ngram_rows(m: Metrics) -> list[tuple[str, str]]:
    """The best modified Kneser-Ney perplexity per corpus and unit (over the orders run)."""
    best: dict[str, tuple[float, str]] = {}
    for key, v in m.items():
        name, unit, order, smoothing = key.split("/")
        key = f"{CORPORA.get(name, name)}, {unit}s"
        if smoothing == "mkn" and v["perplexity"] < best.get(key, (1e300, ""))[0]:
            best[key] = (v["perplexity"], order)
    return [(f"n-gram baseline on {k}: validation perplexity (modified Kneser-Ney, "
             f"{order}-gram)", f"{ppl:,.2f}") for k, (ppl, order) in best.items()]


def byhand_rows(m: Metrics) -> list[tuple[str, str]]:
    prompt = " ".join(s["token"] for s in m["walk"])
    return [(f"NumPy network by hand: next word after “{prompt}”",
             f"{m['next_token']} (p = {m['next_token_prob']:.2f})")]


def vanishing_rows(m: Metrics) -> list[tuple[str, str]]:
    cells = m["empirical"]["cells"]
    t = m["timing"]
    return [("Gradient kept per step back through time, after training",
             ", ".join(f"{CELLS.get(c, c)} x{v['rate_trained']:.2f}" for c, v in cells.items())),
            ("Serial time of the NumPy RNN (linear fit over T)",
             f"{t['seconds_per_step'] * 1e6:.0f} µs per step, R² = {t['r2']:.3f}")]


def compare_rows(m: Metrics) -> list[tuple[str, str]]:
    models = m["models"]
    return [(f"Validation loss at equal parameters, {CORPORA.get(m['corpus'], m['corpus'])} "
             "characters",
             ", ".join(f"{CELLS.get(c, c)} {v['loss_nats']:.3f}" for c, v in models.items())
             + " nats/char")]


def structure_rows(m: Metrics) -> list[tuple[str, str]]:
    models = m["models"]
    return [("Closing-bracket accuracy, held-out deeper and longer strings",
             ", ".join(f"{CELLS.get(c, c)} {v['test']['closing_accuracy']:.3f}"
                       for c, v in models.items()))]


def seq2seq_rows(m: Metrics) -> list[tuple[str, str]]:
    from seqlm.report.seq2seq_plots import LABELS

    regimes = list(next(iter(m.values()))["test"])
    return [(f"Dates: test exact match, {regime} inputs", ", ".join(
        f"{LABELS.get(a, a)} {100 * r['test'][regime]['exact_match']['accuracy']:.1f}%"
        for a, r in m.items())) for regime in regimes]


def revival_rows(m: Metrics) -> list[tuple[str, str]]:
    models = m["quality"]["models"]
    return [("Validation loss at equal training time",
             ", ".join(f"{CELLS.get(c, c)} {v['loss_nats']:.3f}" for c, v in models.items())
             + " nats/char")]


GLANCES = {"ngram": ngram_rows, "by-hand": byhand_rows, "vanishing": vanishing_rows,
           "compare": compare_rows, "structure": structure_rows, "seq2seq": seq2seq_rows,
           "revival": revival_rows}

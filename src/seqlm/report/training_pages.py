"""The pages of training runs (`seqlm train`, `seqlm seq2seq train`) and `LiveReport`, the
engine listener that writes them again after every evaluation.

A training page: what was trained, the validation (and, for seq2seq, test) numbers, the
training curves drawn from the manifest's history (loss, validation loss, gradient norms
global and per layer), then samples at three temperatures (language models) or test errors
and attention heatmaps with their source and output (seq2seq: drawn by the run from best.pt,
greedy; the page loads no checkpoint). While the run goes on, the manifest holds the
history so far and the page shows it. Leaves out: comparing runs (TensorBoard does that).
"""

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlm.report.page import Page, Section, command_of

Manifest = dict[str, Any]


class LiveReport:
    """After every evaluation: `record(engine)` puts the history into the run's metrics,
    then the manifest (status "running") and report.html are written again."""

    def __init__(self, run, record: Callable[[Any], None]):
        self.run, self.record = run, record

    def history(self, entry: dict[str, float], engine) -> None:
        pass  # a page per history entry would cost more than it shows

    def evaluation(self, metrics: dict[str, float], engine) -> None:
        self.record(engine)
        self.run.write_manifest("running")
        self.run.write_report()


def cell(text: Any) -> str:
    """Text for a Markdown table cell, shown as typed."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|") + "`"


def curves(m: Manifest, name: str) -> str:
    """Loss and gradient-norm plots drawn from the manifest's history ('' before any)."""
    from seqlm.report.figures import png_data_uri
    from seqlm.report.lm_plots import grad_norm_figure, loss_figure

    metrics = m.get("metrics", {})
    history, evals = metrics.get("history") or [], metrics.get("evals") or []
    if not history:
        return "No history entry yet: the first one comes after `log_every` updates."
    loss = png_data_uri(loss_figure({name: history}, {name: evals}, "loss"))
    norms = png_data_uri(grad_norm_figure({name: history}, "gradient norm before clipping"))
    return (f"![training loss (solid) and validation loss (dots), nats per token]({loss}) "
            f"![gradient norm, global and per layer]({norms})")


def train_page(run_dir: Path, m: Manifest) -> Page:
    c, metrics = m.get("config") or {}, m.get("metrics", {})
    model, corpus = c.get("model", {}), c.get("corpus", {}).get("name", "?")
    cell_name = model.get("cell", "?").upper()
    lead = (f"A {model.get('num_layers')}-layer {cell_name} language model "
            f"({model.get('hidden_size')} units, {model.get('unit')}-level) trained on "
            f"{corpus} with truncated backpropagation through time; the validation split "
            "is scored statefully, every token seeing all the text before it.")
    valid = metrics.get("best_valid_full") or metrics.get("final_valid") or {}
    rows = [("status", metrics.get("status", "running")),
            ("updates", f"{metrics.get('steps', latest_step(metrics)):,}"),
            ("parameters", f"{metrics['parameters']:,}" if "parameters" in metrics else "-"),
            ("training speed", f"{metrics['tokens_per_second']:,.0f} tokens/s"
             if metrics.get("tokens_per_second") else "-")]
    if valid:
        which = "best weights" if "best_valid_full" in metrics else "last evaluation"
        rows += [(f"validation loss ({which}, update {valid['step']})",
                  f"{valid['loss_nats']:.4f} nats per token"),
                 ("validation perplexity", f"{valid['perplexity']:.3f}"),
                 ("validation bits per character", f"{valid['bits_per_char']:.4f}"),
                 ("tokens scored", f"{valid['tokens']:,}")]
    table = ["| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]]
    run = command_of(m)
    sections = [Section("Result", "\n".join(table), (run, f"seqlm eval {run_dir} --split valid")),
                Section("Training", curves(m, model.get("cell", "model")), (run,))]
    trail = metrics.get("sample_trail") or []
    if trail:
        sections.append(Section("Samples over training", trail_markdown(trail), (run,)))
    samples = metrics.get("samples") or []
    if samples:
        temps = " ".join(str(s["temperature"]) for s in samples)
        sections.append(Section(
            "Samples", samples_markdown(samples),
            (f"seqlm sample {run_dir} --temperature {temps} --length "
             f"{metrics.get('sample_length', 200)} --seed {m.get('seed')}",)))
    return Page(f"{cell_name} language model on {corpus}", lead, sections)


def latest_step(metrics: dict) -> int:
    """The update of the last history entry (while training, before `steps` is recorded)."""
    history = metrics.get("history") or []
    return int(history[-1]["step"]) if history else 0


def trail_markdown(trail: list[dict]) -> str:
    """The sample trail as a table: one row per log-spaced update, the text beside it."""
    lines = ["The same prime, seed and temperature (0.8) at updates 1, 2, 5, 10, 20, 50, ...: "
             "what the weights of that moment write.", "", "| update | sample |", "|---:|---|"]
    lines += [f"| {s['step']:,} | {cell(' '.join(str(s['text']).split())[:160])} |"
              for s in trail]
    return "\n".join(lines)


def samples_markdown(samples: list[dict]) -> str:
    lines = ["From the best weights, after a line break: a low temperature keeps to the likely "
             "tokens, a high one takes more risks.", ""]
    for s in samples:
        text = s["text"].replace("```", "'''")
        lines += [f"**temperature {s['temperature']}**", "", "```text", text, "```", ""]
    return "\n".join(lines)


def seq2seq_train_page(run_dir: Path, m: Manifest) -> Page:
    c, metrics = m.get("config") or {}, m.get("metrics", {})
    attention = c.get("model", {}).get("attention", "?")
    lead = ("An encoder-decoder that rewrites dates written in many ways as YYYY-MM-DD; "
            f"attention: {attention}. Validation pairs choose the best checkpoint; the test "
            "pairs of each regime (plain dates, dates inside longer text) score it.")
    rows = [f"| {regime} | {pct(s['exact_match'])} | "
            f"{100 * s['char_accuracy']['accuracy']:.2f}% |"
            for regime, s in metrics.get("test", {}).items()]
    text = []
    if "best_valid_exact" in metrics:
        text.append(f"Best validation exact match {100 * metrics['best_valid_exact']:.2f}% at "
                    f"update {metrics['best_step']} of {metrics['steps']}.")
    elif metrics.get("evals"):
        last = metrics["evals"][-1]
        text.append(f"Still training: validation exact match {100 * last['valid_exact']:.2f}% "
                    f"at update {last['step']}; the test pairs are scored at the end.")
    if rows:
        text += ["", "| test regime | exact match (95% interval) | characters right |",
                 "|---|---|---|", *rows]
    run = command_of(m)
    sections = [Section("Result", "\n".join(text) or "No evaluation yet.",
                        (run, f"seqlm seq2seq eval {run_dir}")),
                Section("Training", curves(m, attention), (run,))]
    errors = m.get("test_errors", {})
    if any(errors.values()):
        lines = ["| regime | source | expected | written |", "|---|---|---|---|"]
        lines += [f"| {regime} | {cell(e['source'])} | {cell(e['target'])} | "
                  f"{cell(e['output'])} |" for regime, found in errors.items()
                  for e in found[:5]]
        sections.append(Section("Test errors", "\n".join(lines),
                                (f"seqlm seq2seq eval {run_dir}",)))
    if m.get("heatmaps"):
        sections.append(heatmap_section(run_dir, m["heatmaps"]))
    from seqlm.report.seq2seq_plots import LABELS

    return Page(f"Dates: {LABELS.get(attention, attention)}", lead, sections)


def pct(rate: dict) -> str:
    lo, hi = rate["ci95"]
    return f"{100 * rate['accuracy']:.2f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def heatmap_section(run_dir: Path, heatmaps: list[dict]) -> Section:
    """Where the best model looks while it writes: the heatmaps the run drew from best.pt
    (test errors first, else fixed examples), files of the run directory."""
    images = [f"![{h['source']!r} written as {h['output']!r}]({h['path']})" for h in heatmaps]
    text = ["Each row is a character the decoder wrote, each column a source character; "
            "dark cells are where it looked. Translated greedily by the best checkpoint.", "",
            " ".join(images)]
    commands = tuple(shlex.join(["seqlm", "seq2seq", "translate", str(run_dir), h["source"],
                                 "--heatmap", "heatmap.png"]) for h in heatmaps)
    return Section("Where the model looks", "\n".join(text), commands)

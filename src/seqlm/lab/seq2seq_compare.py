"""`seqlm seq2seq compare` and the lab step `seq2seq`: no attention vs Bahdanau vs Luong
general vs scaled dot, on the same data, seed and step budget.

The budgets are pre-registered in `seqlm.config.SEQ2SEQ_COMPARE_PRESETS` (full for the
command, lab560 and quick for `seqlm lab`): they were committed before any comparison was run
and are not tuned after the fact. Each model trains on plain dates and long inputs joined,
is selected by validation exact match (best.pt), and is tested on each regime's held-out
split. Output: a Markdown table (exact match with 95% intervals, per-character accuracy),
a plot of exact match against source length, and attention heatmaps for a few test examples.
Leaves out: several seeds (the intervals cover test-set noise, not seed noise).
"""

import time
from dataclasses import replace

from seqlm.atomic import atomic_write_text
from seqlm.config import (
    SEQ2SEQ_COMPARE_PRESETS,
    Seq2SeqCompareConfig,
    Seq2SeqComparePreset,
    Seq2SeqConfig,
    Seq2SeqEvalConfig,
    compare_preset,
)
from seqlm.decoding.seq2seq import Translation
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.report.seq2seq_plots import LABELS, accuracy_by_length, attention_heatmap
from seqlm.runs.run import Run
from seqlm.runs.seq2seq import CorpusFn, PairData, fit, load_pairs
from seqlm.runs.seq2seq_eval import held_out_tests
from seqlm.training.seq2seq_score import by_length, evaluate
from seqlm.training.threads import torch_threads

LAB_PRESET = "lab560h"  # what `seqlm lab` runs (chosen for time; docs/seq2seq.md)


def preset_config(preset: Seq2SeqComparePreset, attention: str, seed: int,
                  device: str = "auto") -> Seq2SeqConfig:
    """The resolved training config of one model of the comparison: the preset's base run
    with this attention, seed (data, weights, batches) and device."""
    base = preset.base
    return replace(base, corpus=replace(base.corpus, seed=seed),
                   model=replace(base.model, attention=attention),
                   train=replace(base.train, seed=seed),
                   engine=replace(base.engine, device=device))


def get_preset(name: str) -> Seq2SeqComparePreset:
    if name not in SEQ2SEQ_COMPARE_PRESETS:
        raise SeqlmError(f"unknown compare preset {name!r}: choose "
                         f"{', '.join(SEQ2SEQ_COMPARE_PRESETS)}")
    return compare_preset(name)


def compare_models(preset: Seq2SeqComparePreset, seed: int, run: Run,
                   corpus: CorpusFn | None = None,
                   progress: ProgressCallback | None = None, device: str = "auto") -> dict:
    """Train and test every model of `preset` into `run`; return the metrics per model."""
    data = load_pairs(preset_config(preset, "none", seed), preset.test_size, corpus)
    for regime, c in data.corpora.items():
        run.data[f"dates[regime={regime}]"] = c.identity()
    results: dict[str, dict] = {}
    for i, attention in enumerate(preset.models):
        report(progress, Progress("compare", i, len(preset.models), unit="model",
                                  message=attention))
        results[attention] = train_and_test(preset, attention, seed, data, run, progress,
                                            device)
    report(progress, Progress("compare", len(preset.models), len(preset.models), unit="model"))
    curves = {LABELS[a]: r["by_length"] for a, r in results.items()}
    accuracy_by_length(curves, run.artifact("accuracy_by_length", "accuracy_by_length.png"))
    return results


def train_and_test(preset: Seq2SeqComparePreset, attention: str, seed: int, data: PairData,
                   run: Run, progress: ProgressCallback | None, device: str = "auto") -> dict:
    """One model: train into run/<attention>/, test per regime, draw heatmaps."""
    config = preset_config(preset, attention, seed, device)
    out = run.path / attention
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()  # not run.timer: in the lab, run.timings are per step
    cpu_started = time.process_time()  # one torch thread: CPU time ~ wall time on idle cores
    best, result = fit(config, data, out, progress)
    model, vocabs = best.model, best.vocab
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    scores, translations = {}, {}
    with torch_threads(config.engine.threads):
        for regime, pairs in data.test.items():
            scores[regime], translations[regime] = evaluate(model, vocabs, pairs)
    if config.corpus.hold_out_formats:
        held = held_out_tests(config, preset.held_out_size)
        result_held = {name: evaluate(model, vocabs, pairs)[0]["exact_match"]
                       for name, pairs in held.items()}
    joined = [p for pairs in data.test.values() for p in pairs]
    outputs = [t.output for ts in translations.values() for t in ts]
    hits = [o == t for o, (_, t) in zip(outputs, joined, strict=True)]
    result = {
        "steps": result.position.step, "best_step": result.position.best_step,
        "valid_exact": 1.0 - result.position.best,
        "train_seconds": round(seconds, 2), "train_cpu_seconds": round(cpu_seconds, 2),
        "test": {r: {k: v for k, v in s.items() if k not in ("errors", "by_length")}
                 for r, s in scores.items()},
        "errors": {r: s["errors"][:5] for r, s in scores.items()},
        "by_length": by_length([s for s, _ in joined], hits, Seq2SeqEvalConfig().bucket_width),
    }
    if config.corpus.hold_out_formats:
        result["held_out"] = result_held
    if attention != "none":
        chosen = {r: translations[r] for r in preset.heatmap_regimes}
        result["heatmaps"] = draw_heatmaps(chosen, preset.heatmaps, run, attention)
    return result


def draw_heatmaps(translations: dict[str, list[Translation]], n: int, run: Run,
                  attention: str) -> list[dict[str, str]]:
    """Heatmaps of the first `n` test translations of each regime: their relative paths,
    with the source and what the model wrote."""
    drawn = []
    for regime, found in translations.items():
        for j, translation in enumerate(found[:n]):
            name = f"heatmap_{attention}_{regime}_{j}"
            attention_heatmap(translation, run.artifact(name, f"heatmaps/{name}.png"),
                              title=f"{LABELS[attention]} wrote {translation.output}")
            drawn.append({"path": f"heatmaps/{name}.png", "regime": regime,
                          "source": translation.source, "output": translation.output})
    return drawn


TARGETS = {"plain": 99.5, "long": 98.0}  # exact match % every attention model should reach
GAP_TARGET = 15.0  # points by which no attention should trail the best attention on long
REGIME_WORDS = {"plain": "plain dates", "long": "dates inside longer text"}


def against_targets(results: dict) -> list[str]:
    """What the comparison was set up to show (fixed before it was first run, docs/seq2seq.md),
    and whether this run shows it; nothing is adjusted."""
    def exact(attention: str, regime: str) -> float:
        return 100 * results[attention]["test"][regime]["exact_match"]["accuracy"]

    regimes = [r for r in TARGETS if r in next(iter(results.values()))["test"]]
    attentive = [a for a in results if a != "none"]
    lines = []
    for regime in regimes:
        passed = [LABELS[a] for a in attentive if exact(a, regime) >= TARGETS[regime]]
        lines.append(f"- Attention models at {TARGETS[regime]}% exact match or more on "
                     f"{REGIME_WORDS[regime]}: {len(passed)} of {len(attentive)}"
                     + (f" ({', '.join(passed)})" if passed else ""))
    if "none" in results and attentive and "long" in regimes:
        best = max(attentive, key=lambda a: exact(a, "long"))
        gap = exact(best, "long") - exact("none", "long")
        shown = "shown" if gap >= GAP_TARGET else "not shown"
        lines.append(f"- On dates inside longer text the model without attention trails the "
                     f"best attention model ({LABELS[best]}) by {gap:.1f} points, where the "
                     f"bottleneck should cost {GAP_TARGET:.0f} or more: {shown} by this run")
    return ["What the comparison was set up to show, and what this run measured:", *lines]


def markdown(preset_name: str, preset: Seq2SeqComparePreset, results: dict) -> str:
    """The comparison table, the plot and the heatmaps with their source and output."""
    def cell(score: dict) -> str:
        lo, hi = score["ci95"]
        return f"{100 * score['accuracy']:.2f} ({100 * lo:.1f}-{100 * hi:.1f})"

    regimes = list(next(iter(results.values()))["test"])
    head = " | ".join(f"exact {r} % (95% CI)" for r in regimes)
    chars = " | ".join(f"chars {r} %" for r in regimes)
    base = preset.base
    encoder = "bidirectional" if base.model.bidirectional else "one-way (unidirectional)"
    trained_on = " and ".join(REGIME_WORDS.get(r, r) for r in base.regimes)
    lines = [f"Budget `{preset_name}`, fixed in advance and not tuned after seeing results: "
             f"{base.engine.max_steps} training updates per model, {base.corpus.size:,} "
             "generated date pairs "
             f"per regime (80% train, 10% validation, 10% test), the same seed for every "
             f"model, trained on {trained_on} together, {encoder} GRU encoder. Each model is "
             "tested with the checkpoint that did best on the validation pairs. Exact: the "
             "whole date right; chars: characters in the right place.", "",
             f"| model | {head} | {chars} | train s | train CPU s |",
             "|---|" + "---|" * (2 * len(regimes) + 2)]
    for attention, r in results.items():
        exact = " | ".join(cell(r["test"][g]["exact_match"]) for g in regimes)
        char = " | ".join(f"{100 * r['test'][g]['char_accuracy']['accuracy']:.2f}"
                          for g in regimes)
        lines.append(f"| {LABELS[attention]} | {exact} | {char} | {r['train_seconds']:.0f} "
                     f"| {r['train_cpu_seconds']:.0f} |")
    expected = against_targets(results)
    lines += ["", expected[0], "", *expected[1:], "", *held_out_table(preset, results),
              "![exact match by source length, with 95% intervals](accuracy_by_length.png)",
              "", "Where each attention model looks while it writes (rows: the characters "
              "it wrote; columns: the source; dark: high attention weight):", "",
              " ".join(heatmap_image(attention, h) for attention, r in results.items()
                       for h in r.get("heatmaps", []))]
    return "\n".join(lines)


def heatmap_image(attention: str, heatmap: dict[str, str]) -> str:
    """`![caption](path)`; brackets in the text would end the caption early."""
    said = f"{LABELS[attention]}: \u201c{heatmap['source']}\u201d written as " \
           f"\u201c{heatmap['output']}\u201d"
    return f"![{said.replace('[', '(').replace(']', ')')}]({heatmap['path']})"


def held_out_table(preset: Seq2SeqComparePreset, results: dict) -> list[str]:
    """Exact match on date formats no model saw in training, per format and model."""
    held_out = preset.base.corpus.hold_out_formats
    if not held_out:
        return []
    names = list(next(iter(results.values()))["held_out"])
    lines = [f"Formats held out of training ({', '.join(held_out)}), "
             f"{preset.held_out_size} fresh dates each per regime: exact match %.", "",
             "| model | " + " | ".join(n.removeprefix("held-out ") for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for attention, r in results.items():
        lines.append(f"| {LABELS[attention]} | " + " | ".join(
            f"{100 * r['held_out'][n]['accuracy']:.1f}" for n in names) + " |")
    return [*lines, ""]


def run_compare(config: Seq2SeqCompareConfig, argv: list[str] | None = None,
                progress: ProgressCallback | None = None) -> Run:
    """`seqlm seq2seq compare`: the comparison into its own run directory with report.md."""
    preset = get_preset(config.preset)
    run = Run("seq2seq compare", config, out=config.out, overwrite=config.overwrite,
              argv=argv, seed=config.seed)
    with run:
        results = compare_models(preset, config.seed, run, progress=progress,
                                 device=config.device)
        run.metrics.update(preset=config.preset, models=results)
        section = LabSection("Seq2seq: attention against the bottleneck",
                             markdown(config.preset, preset, results))
        run.extra["sections"] = [section.record()]
        atomic_write_text(run.artifact("report", "report.md"),
                          f"# {section.title}\n\n{section.markdown}\n")
    return run


def lab_step(ctx: LabContext) -> LabSection:
    """The lab's seq2seq section at the `lab560h` (or `quick`) preset."""
    name = "quick" if ctx.config.quick else LAB_PRESET
    preset = get_preset(name)
    corpus = lambda c: ctx.corpus("dates", regime=c.regime, size=c.size)  # noqa: E731
    results = compare_models(preset, ctx.config.seed, ctx.run, corpus, ctx.progress,
                             ctx.config.device)
    return LabSection(title="Seq2seq: attention against the bottleneck",
                      markdown=markdown(name, preset, results), metrics=results)

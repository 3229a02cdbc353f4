"""`seqlm structure`: what the cells learn about brackets, indentation and strings.

Two uses, one set of measures (docs/structure.md):

- `run_structure(config)` (`seqlm structure --brackets`, lab step "structure"): RNN, LSTM and
  GRU trained on the `brackets` corpus at equal parameters (the LSTM's hidden size sets the
  budget, the others get the hidden size closest to its count: `compare.cell_model`) and
  equal steps, data and seed; a character n-gram (modified Kneser-Ney) fitted on the same
  strings as the baseline. Each is scored on the validation strings and on the held-out
  deeper and longer ones (`structure_brackets`: closing-bracket accuracy by depth and by
  distance to the opener, the mass on "close now"); for each network the units that best
  track bracket depth are found (`structure_neurons`) and drawn (`structure_plots`).
- `run_structure(config, target=RUN)` (`seqlm structure RUN`): a trained language model. On
  brackets, the measures above for it and the n-gram; on code (python-stdlib, file:DIR), the
  share of its samples whose brackets balance and indentation is consistent against an
  n-gram of the same text (`structure_code`), and the units tracking depth, indentation and
  "inside a string".

Training goes through one function, `train_lm` (the one engine, `seqlm.training.engine`).
Leaves out: several seeds per cell, minGRU / minLSTM (not in seqlm yet).
"""

import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from seqlm.atomic import atomic_write_text
from seqlm.checkpoint import load
from seqlm.config import QUICK_STRUCTURE, NgramConfig, StructureConfig, TrainConfig, merge
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.data.vocab import Vocab
from seqlm.lab.compare import cell_model
from seqlm.lab.steps import LabContext, LabSection, lab_settings
from seqlm.lab.structure_activations import unit_activations
from seqlm.lab.structure_brackets import (
    layout,
    lm_next_probs,
    measure,
    ngram_next_probs,
)
from seqlm.lab.structure_code import compare_samples
from seqlm.lab.structure_labels import CODE_PAIRS, LABELS, Scan, scan
from seqlm.lab.structure_neurons import probe_r2, top_units
from seqlm.lab.structure_plots import accuracy_curves, activation_trace, text_heatmap
from seqlm.lab.structure_report import render_brackets, render_code
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.fit import fit
from seqlm.nn.build import build_model
from seqlm.nn.lm import RecurrentLM
from seqlm.progress import ProgressCallback
from seqlm.runs.run import Run
from seqlm.training.devices import Placement
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask

SPLITS = ("valid", "test")  # brackets: in distribution, and held out (deeper and longer)


def train_lm(config: TrainConfig, corpus: Corpus, vocab: Vocab, out_dir: Path,
             progress: ProgressCallback | None, task: str) -> tuple[RecurrentLM, dict]:
    """The one place this experiment trains: the engine on the corpus' training split."""
    streams = encode_splits(corpus.splits, config.model.unit, vocab)
    placement = Placement.resolve(config.engine.device, config.engine.precision)
    task_ = LMTask(config, vocab, streams["train"], streams.get("valid"), placement.device,
                   corpus.sha256)
    torch.manual_seed(config.seed)
    engine = Engine(task_, build_model("lm", config, vocab), config.engine, out_dir, placement)
    wrapped = None if progress is None else (lambda e: progress(replace(e, task=task)))
    result = engine.run(wrapped)
    return engine.model.eval(), {
        "parameters": result.parameters, "steps": result.position.step,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "valid_loss_nats": result.evals[-1]["loss_nats"] if result.evals else None}


def cell_train_config(config: StructureConfig, cell: str, vocab_size: int) -> TrainConfig:
    """The run of one cell: `config.train` with the cell at the LSTM's parameter budget
    (`seqlm compare`'s matching) and one validation pass, at the end."""
    train = config.train
    steps = train.engine.max_steps
    return replace(train, model=cell_model(train.model, cell, vocab_size), engine=replace(
        train.engine, eval_every=steps, log_every=max(1, steps // 20)))


def pairs_of(corpus: Corpus) -> str:
    return corpus.details["brackets"]["pairs"]


def eval_lines(corpus: Corpus, split: str, config: StructureConfig) -> list[str]:
    return corpus.text(split).splitlines()[: config.eval_strings]


def score_lm(model, vocab: Vocab, corpus: Corpus, config: StructureConfig) -> dict:
    pairs = pairs_of(corpus)
    return {split: measure(lines, lm_next_probs(model, vocab, lines, pairs + "\n",
                                                config.eval_rows), pairs)
            for split in SPLITS for lines in [eval_lines(corpus, split, config)]}


def score_ngram(corpus: Corpus, config: StructureConfig) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        model = fit(corpus.text("train"), NgramConfig(order=config.ngram_order, unit="char",
                                                      smoothing="mkn"))
    pairs = pairs_of(corpus)
    scores = {split: measure(lines, ngram_next_probs(model, lines, pairs + "\n"), pairs)
              for split in SPLITS for lines in [eval_lines(corpus, split, config)]}
    return {**scores, "order": config.ngram_order, "ngrams": sum(model.info["counts"]),
            "fallback_orders": model.info.get("fallback_orders", [])}


def brackets_passage(corpus: Corpus, config: StructureConfig) -> str:
    """Whole validation strings, from a newline, up to `passage_chars` characters."""
    lines, used = [], 1
    for line in corpus.text("valid").splitlines():
        if used + len(line) + 1 > config.passage_chars and lines:
            break
        lines.append(line)
        used += len(line) + 1
    return layout(lines)


def code_passage(text: str, chars: int) -> str:
    """`chars` characters from the first top-level `class` or `def` (else the first line)."""
    starts = [i for i in (text.find("\nclass "), text.find("\ndef ")) if i >= 0]
    start = min(starts) if starts else max(0, text.find("\n"))
    return ("" if text[start] == "\n" else "\n") + text[start: start + chars]


def find_neurons(model, vocab: Vocab, passage: str, labels: tuple[str, ...], pairs: str,
                 k: int) -> tuple[dict, dict, Scan]:
    """Top units per label (correlation) and the probe's R^2; the activations and scan."""
    s = scan(passage, pairs)
    acts = unit_activations(model, vocab.encode(list(passage)))
    found: dict[str, dict] = {}
    for name in labels:
        y = s.label(name)
        if y.std() == 0:
            found[name] = {"skipped": "the label is constant on the passage"}
            continue
        found[name] = {"units": [{"unit": n.name, "state": n.state, "index": n.unit,
                                  "r": round(n.r, 4)} for n in top_units(acts, y, k)],
                       "probe_r2": probe_r2(acts, y)}
    return found, acts, s


def draw_neurons(run: Run, model_name: str, passage: str, found: dict, acts: dict, s,
                 config: StructureConfig) -> dict[str, dict[str, str]]:
    """Heatmap and trace of the top unit per label; {label: {kind: relative path}}."""
    pictures: dict[str, dict[str, str]] = {}
    for label, result in found.items():
        if "units" not in result:
            continue
        best = result["units"][0]
        values = acts[best["state"]][:, best["index"]]
        title = f"{model_name} unit {best['unit']}: {label} (r = {best['r']:+.2f})"
        heat = f"structure/{model_name}/{label}_heatmap.png"
        text_heatmap(passage[: config.heatmap_chars], values[: config.heatmap_chars],
                     run.artifact(f"{model_name}_{label}_heatmap", heat), title)
        pictures[label] = {"heatmap": heat}
        if config.trace_chars:
            trace = f"structure/{model_name}/{label}_trace.png"
            n = config.trace_chars
            activation_trace(values[:n], s.label(label)[:n], label,
                             run.artifact(f"{model_name}_{label}_trace", trace), title)
            pictures[label]["trace"] = trace
    return pictures


def brackets_model(name: str, model, vocab: Vocab, corpus: Corpus, config: StructureConfig,
                   run: Run) -> dict:
    """Every brackets measure of one network, its depth units and their pictures."""
    passage = brackets_passage(corpus, config)
    found, acts, s = find_neurons(model, vocab, passage, ("depth",), pairs_of(corpus),
                                  config.top_units)
    return {**score_lm(model, vocab, corpus, config), "neurons": found,
            "pictures": draw_neurons(run, name, passage, found, acts, s, config)}


def compare_cells(config: StructureConfig, run: Run, progress: ProgressCallback | None
                  ) -> LabSection:
    """Train every cell on brackets, score them and the n-gram, draw the curves."""
    corpus = load_corpus(config.train.corpus, progress)
    vocab = build_vocab(corpus.text("train"), config.train.model)
    results: dict[str, dict] = {}
    for cell in config.cells:
        started = time.perf_counter()
        tc = cell_train_config(config, cell, len(vocab))
        model, trained = train_lm(tc, corpus, vocab, run.path / "structure" / cell, progress,
                                  f"train {cell}")
        trained["train_seconds"] = round(time.perf_counter() - started, 2)
        results[cell] = {"hidden": tc.model.hidden_size, **trained,
                         **brackets_model(cell, model, vocab, corpus, config, run)}
    results["ngram"] = score_ngram(corpus, config)
    run.data["structure:brackets"] = corpus.identity()
    draw_curves(run, results, f"Dyck strings, {config.train.engine.max_steps} steps per cell")
    return LabSection("What the cells learn: brackets",
                      render_brackets(config, results, config.train.corpus.brackets),
                      metrics={"corpus": corpus.identity(), "models": results})


def draw_curves(run: Run, results: dict, title: str) -> None:
    for key in ("by_depth", "by_distance"):
        name = key.removeprefix("by_")
        accuracy_curves(results, key, run.artifact(f"accuracy_{name}",
                                                    f"structure/accuracy_{name}.png"), title)


def analyse_run(target: str | Path, config: StructureConfig, run: Run,
                progress: ProgressCallback | None) -> LabSection:
    """The measures on a trained run: brackets if it learnt brackets, else code."""
    loaded = load(target, kind="lm")
    corpus = load_corpus(loaded.config.corpus, progress)
    run.data["corpus"] = corpus.identity()
    run.extra["analysed"] = str(target)
    # python-stdlib differs between Python builds: say when this is not the model's text
    run.extra["corpus_matches_checkpoint"] = \
        loaded.payload.get("data", {}).get("sha256") in (None, corpus.sha256)
    if corpus.name == "brackets":
        return analyse_brackets(str(target), loaded, corpus, config, run)
    return analyse_code(str(target), loaded, corpus, config, run)


def analyse_brackets(target: str, loaded, corpus: Corpus, config: StructureConfig,
                     run: Run) -> LabSection:
    m = loaded.config.model
    results = {m.cell: brackets_model(m.cell, loaded.model, loaded.vocab, corpus, config, run),
               "ngram": score_ngram(corpus, config)}
    draw_curves(run, results, f"{target} ({m.cell}) on Dyck strings")
    trained = f"Model: {target} ({m.cell}, {m.num_layers} layer(s), H={m.hidden_size})"
    return LabSection(f"What {target} learnt: brackets", render_brackets(
        config, results, loaded.config.corpus.brackets, trained), metrics={"models": results})


def analyse_code(target: str, loaded, corpus: Corpus, config: StructureConfig,
                 run: Run) -> LabSection:
    name = loaded.config.model.cell
    passage = code_passage(corpus.text("valid"), config.passage_chars)
    found, acts, s = find_neurons(loaded.model, loaded.vocab, passage, LABELS, CODE_PAIRS,
                                  config.top_units)
    result = {"neurons": found, "samples": compare_samples(
        loaded.model, loaded.vocab, corpus.text("train"), config),
        "pictures": draw_neurons(run, name, passage, found, acts, s, config)}
    return LabSection(f"What {target} learnt: code", render_code(config, name, result),
                      metrics=result)


def lab_step(ctx: LabContext) -> LabSection:
    config = merge(StructureConfig(), lab_settings(ctx),
                   QUICK_STRUCTURE if ctx.config.quick else {})
    return compare_cells(config, ctx.run, ctx.progress)


def run_structure(config: StructureConfig, target: str | Path | None = None, out=None,
                  overwrite: bool = False, argv: list[str] | None = None,
                  progress: ProgressCallback | None = None) -> tuple[Run, LabSection]:
    """`seqlm structure`: the cell comparison on brackets, or (`target`) a trained run."""
    run = Run("structure", config, out=out, overwrite=overwrite, argv=argv)
    with run:
        section = (compare_cells(config, run, progress) if target is None
                   else analyse_run(target, config, run, progress))
        run.metrics.update(section.metrics)
        run.extra["sections"] = [section.record()]
        atomic_write_text(run.artifact("report", "report.md"),
                          f"# {section.title}\n\n{section.markdown}\n")
    return run, section

"""The comparison: vanilla RNN vs LSTM vs GRU (vs minGRU, minLSTM) on characters, at equal
parameters and at equal steps or equal wall-clock time.

Every model sees the same corpus (Tiny Shakespeare; the `verbs` corpus at character level
where Tiny Shakespeare cannot be had), the same vocabulary, the same windows in the same order,
the same seed, optimizer, schedule and budget: a number of steps, or (`minutes`) a training
time, the cosine then spanning the time, so a faster model takes more steps. Each cell's run
is the config's `train` with the cell swapped in (`variant`): the LSTM's hidden size,
`train.model.hidden_size`, sets the parameter budget; every other cell gets the hidden size
whose total parameter count comes closest (`cell_model`). Out:
a table of validation loss, perplexity and bits per character (the validation split scored
statefully), loss curves on one plot, gradient norms (global and per layer) during training,
||dL_t/dh_{t-k}|| against k on trained weights, and samples at several temperatures.
The claim under test: gated cells beat the vanilla RNN at the same budget. The numbers are
whatever the run measures. Leaves out: hyper-parameter tuning per cell, several seeds.
"""

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from seqlm.atomic import atomic_write_text
from seqlm.config import (
    QUICK_COMPARE,
    CompareConfig,
    CorpusConfig,
    LMConfig,
    SampleConfig,
    TrainConfig,
    merge,
)
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits
from seqlm.decoding.lm_text import decode_samples
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection, lab_settings
from seqlm.nn.build import build_model
from seqlm.nn.gradient_flow import hidden_gradient_norms
from seqlm.nn.lm import RecurrentLM, count_parameters
from seqlm.progress import ProgressCallback
from seqlm.report.lm_plots import grad_norms, gradient_decay, loss_curves
from seqlm.runs.run import Run
from seqlm.runs.tensorboard_log import TensorBoardLog, require_tensorboard
from seqlm.training.devices import Placement
from seqlm.training.engine import Engine
from seqlm.training.evaluate import evaluate_stream
from seqlm.training.lm import LMTask
from seqlm.training.threads import torch_threads


def matched_hidden(model: LMConfig, cell: str, vocab_size: int) -> int:
    """The hidden size at which `cell` (otherwise `model`) has the parameter count closest
    to the LSTM's at `model.hidden_size`."""
    def params(c: str, h: int) -> int:
        return count_parameters(RecurrentLM(vocab_size, replace(model, cell=c, hidden_size=h)))

    target = params("lstm", model.hidden_size)
    lo, hi = 4, 8 * model.hidden_size
    while hi - lo > 1:  # the count grows with h: bisect
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if params(cell, mid) < target else (lo, mid)
    return min((lo, hi), key=lambda h: abs(params(cell, h) - target))


def cell_model(model: LMConfig, cell: str, vocab_size: int) -> LMConfig:
    """`model` as `cell` at the LSTM's parameter budget (`model.hidden_size` is the LSTM's)."""
    hidden = model.hidden_size if cell == "lstm" else matched_hidden(model, cell, vocab_size)
    return replace(model, cell=cell, hidden_size=hidden)


CORPUS_TITLES = {"tinyshakespeare": "Tiny Shakespeare"}


def pick_corpus(config: CompareConfig) -> tuple[Corpus, CorpusConfig, str]:
    """`train.corpus`, or `fallback` (if another corpus) where it is not to be had."""
    wanted = config.train.corpus
    try:
        return load_corpus(wanted), wanted, ""
    except SeqlmError as e:
        if config.fallback in (None, wanted.name):
            raise
        cfg = CorpusConfig(name=config.fallback, seed=wanted.seed)
        name = CORPUS_TITLES.get(wanted.name, wanted.name)
        return load_corpus(cfg), cfg, f"{name} is not available ({e}); used {cfg.name}."


def variant(config: CompareConfig, model: LMConfig, corpus: CorpusConfig) -> TrainConfig:
    """The run of one cell: the base run with the cell's model on the corpus found; a time
    budget makes the cosine span the time."""
    engine = config.train.engine
    timed = engine.max_minutes is not None
    return replace(config.train, corpus=corpus, model=model, engine=replace(
        engine, schedule=replace(engine.schedule, horizon="time" if timed else "steps"),
        log_every=engine.log_every if timed else max(1, engine.max_steps // 50)))


CELL_TITLES = {"rnn": "RNN", "rnn_relu": "ReLU RNN", "lstm": "LSTM", "gru": "GRU",
               "mingru": "minGRU", "minlstm": "minLSTM"}


def train_one(config: CompareConfig, model: LMConfig, corpus_cfg: CorpusConfig,
              vocab, streams, out_dir: Path, progress: ProgressCallback | None,
              tensorboard: Path | None = None) -> dict:
    """Train `model` (one cell) as `config.train` says, then score, measure and sample it."""
    tc, cell = variant(config, model, corpus_cfg), model.cell
    placement = Placement.resolve(tc.engine.device)
    task = LMTask(tc, vocab, streams["train"], streams["valid"], placement.device)
    torch.manual_seed(tc.seed)
    sample = SampleConfig(length=config.sample_length, temperatures=config.temperatures,
                          seed=tc.seed)
    listeners = [] if tensorboard is None else [TensorBoardLog(
        tensorboard / cell, lambda model: decode_samples(model, vocab, "char", sample))]
    engine = Engine(task, build_model("lm", tc, vocab), tc.engine, out_dir / cell, placement,
                    listeners)
    wrapped = None if progress is None else (lambda e: progress(replace(e, task=f"train {cell}")))
    try:
        result = engine.run(wrapped)
    finally:
        for listener in listeners:
            listener.close()
    model = engine.model
    with torch_threads(tc.engine.threads):  # scoring and sampling on the training's threads
        final = evaluate_stream(model, streams["valid"], tc.eval_batch_size, tc.window,
                                tc.final_eval_max_tokens)
        rows, width = config.decay_rows, config.decay_window + 1
        valid_ids = torch.from_numpy(streams["valid"].ids[: rows * width].copy())
        decay = hidden_gradient_norms(model.cpu(), valid_ids.view(rows, width))
        samples = decode_samples(model, vocab, "char", sample)
    return {"cell": cell, "hidden": tc.model.hidden_size, "parameters": result.parameters,
            "tokens_per_second": result.tokens_per_second, "valid": final,
            "steps": result.position.step, "train_seconds": round(result.position.seconds, 2),
            "history": result.history, "evals": result.evals, "decay": decay,
            "samples": samples}


def compare(config: CompareConfig, run: Run, progress: ProgressCallback | None = None,
            folder: str = "compare", tensorboard: Path | None = None) -> LabSection:
    """Train every cell of `config` into `run` (plots and checkpoints under `folder`), draw
    the plots, return the report section; with `tensorboard`, each cell logs into its own
    folder under it."""
    corpus, corpus_cfg, note = pick_corpus(config)
    unit = config.train.model.unit
    vocab = build_vocab(corpus.text("train"), config.train.model)
    streams = encode_splits(corpus.splits, unit, vocab)
    results = []
    for cell in config.cells:
        started = time.perf_counter()
        result = train_one(config, cell_model(config.train.model, cell, len(vocab)),
                           corpus_cfg, vocab, streams, run.path / folder, progress, tensorboard)
        results.append({**result, "seconds": round(time.perf_counter() - started, 2)})
    run.data[f"{folder}:{corpus.name}"] = corpus.identity()
    title = f"{corpus.name}, {budget(config)} of {config.train.batch_size}x" \
            f"{config.train.window} chars"
    loss_curves({r["cell"]: r["history"] for r in results},
                {r["cell"]: r["evals"] for r in results},
                run.artifact(f"{folder}_loss", f"{folder}/loss_curves.png"), title)
    grad_norms({r["cell"]: r["history"] for r in results},
               run.artifact(f"{folder}_grad_norms", f"{folder}/grad_norms.png"), title)
    gradient_decay({r["cell"]: r["decay"] for r in results},
                   run.artifact(f"{folder}_decay", f"{folder}/gradient_decay.png"), title)
    heading = " vs ".join(CELL_TITLES.get(c, c) for c in config.cells)
    return LabSection(heading, render(config, corpus.name, results, note, folder),
                      metrics=summary(config, corpus.name, results))


def value_at(config: Any, path: str) -> Any:
    """The value of field `path` ("train.engine.max_steps") of `config`."""
    for part in path.split("."):
        config = getattr(config, part)
    return config


def changed_options(config: Any, default: Any, names: tuple[str, ...]) -> list[str]:
    """`--flag value` for each field of `names` (own or a path into the run `config`
    contains, flagged as its `OPTIONS` say) whose value differs from `default`'s: the
    options of the command line that reproduces `config`."""
    out = []
    for name in names:
        flag = config.OPTIONS[name][0] if name in config.OPTIONS else \
            "--" + name.replace("_", "-")
        value = value_at(config, name)
        if value != value_at(default, name):
            out.append(f"{flag} {value}")
    return out


def budget(config: CompareConfig) -> str:
    """'300 steps' or '2 minutes per model'."""
    engine = config.train.engine
    if engine.max_minutes is None:
        return f"{engine.max_steps} steps"
    return f"{engine.max_minutes:g} minutes per model"


def summary(config: CompareConfig, corpus: str, results: list[dict]) -> dict:
    tc = config.train
    return {"corpus": corpus, "steps": tc.engine.max_steps, "minutes": tc.engine.max_minutes,
            "batch_size": tc.batch_size, "window": tc.window, "models": {r["cell"]: {
                "hidden": r["hidden"], "parameters": r["parameters"], "steps": r["steps"],
                "train_seconds": r["train_seconds"],
                "tokens_per_second": round(r["tokens_per_second"], 1),
                "seconds": r["seconds"], **r["valid"],
                "grad_at_k": {str(k): r["decay"][k] for k in (0, 10, 25, 50)
                              if k < len(r["decay"])},
                "samples": {str(s["temperature"]): s["text"] for s in r["samples"]}}
                for r in results}}


def rate(tokens_per_second: float) -> str:
    """The trainer measures its rate between history entries: none yet (a run shorter than
    `log_every` steps) is shown as '-', not as 0."""
    return f"{tokens_per_second:,.0f}" if tokens_per_second else "-"


def versus(cell: str, base: str, cell_nats: float, base_nats: float) -> str:
    """'LSTM is 0.29 nats/char worse than RNN' (lower validation loss is better)."""
    gap = cell_nats - base_nats
    name, other = CELL_TITLES.get(cell, cell), CELL_TITLES.get(base, base)
    if round(gap, 2) == 0:
        return f"{name} and {other} are within 0.01 nats/char of each other"
    return f"{name} is {abs(gap):.2f} nats/char {'worse' if gap > 0 else 'better'} than {other}"


def render(config: CompareConfig, corpus: str, results: list[dict], note: str,
           folder: str = "compare") -> str:
    by_cell = {r["cell"]: r["valid"]["loss_nats"] for r in results}
    tc = config.train
    lines = [
        f"Budget: {budget(config)} x {tc.batch_size} rows x {tc.window} characters "
        f"of {corpus}, {tc.model.num_layers} layers, embedding {tc.model.embedding_dim}, "
        f"Adam lr {tc.engine.schedule.lr} (warm-up, cosine), seed {tc.seed}; "
        "validation split scored statefully."
        + (f" {note}" if note else ""), "",
        "| cell | hidden | parameters | steps | train s | valid nats/char | perplexity | "
        "bits/char | tokens/s |",
        "|---|---|---|---|---|---|---|---|---|",
        *[f"| {r['cell']} | {r['hidden']} | {r['parameters']:,} | {r['steps']:,} | "
          f"{r['train_seconds']:.0f} | {r['valid']['loss_nats']:.4f} | "
          f"{r['valid']['perplexity']:.3f} | {r['valid']['bits_per_char']:.4f} | "
          f"{rate(r['tokens_per_second'])} |" for r in results], ""]
    pairs = [(c, "rnn") for c in ("lstm", "gru")] + [(c, "lstm") for c in ("mingru", "minlstm")]
    lines += [f"- {versus(cell, base, by_cell[cell], by_cell[base])} at this budget."
              for cell, base in pairs if cell in by_cell and base in by_cell]
    lines += ["", f"![training loss (solid) and validation loss (dots)]({folder}/loss_curves.png) "
              f"![gradient norm during training, global and per layer]({folder}/grad_norms.png) "
              f"![how far back the gradient reaches: ||dL/dh_(t-k)|| against k]"
              f"({folder}/gradient_decay.png)", ""]
    for r in results:
        d = r["decay"]
        lines.append(f"- {r['cell']}: ||dL/dh_(t-k)|| at k=0 {d[0]:.3g}, k={len(d) - 1} "
                     f"{d[-1]:.3g} (ratio {d[-1] / d[0] if d[0] else float('nan'):.2g})")
    lines.append("")
    for r in results:
        for s in r["samples"]:
            text = s["text"].replace("```", "'''")
            lines += [f"**{r['cell']}, temperature {s['temperature']}**", "", "```", text,
                      "```", ""]
    return "\n".join(lines)


def lab_step(ctx: LabContext) -> LabSection:
    config = merge(CompareConfig(), lab_settings(ctx), QUICK_COMPARE if ctx.config.quick else {})
    tensorboard = None if ctx.tensorboard is None else ctx.tensorboard / "compare"
    return compare(config, ctx.run, ctx.progress, tensorboard=tensorboard)


def run_compare(config: CompareConfig, out=None, overwrite: bool = False, argv=None,
                progress: ProgressCallback | None = None,
                tensorboard: str | Path | None = None) -> tuple[Run, LabSection]:
    """`seqlm compare` into its own run directory (report.md, report.html); with
    `tensorboard`, TensorBoard event files under it, one folder per cell."""
    if tensorboard is not None:
        require_tensorboard(tensorboard)  # before the run directory exists
    run = Run("compare", config, out=out, overwrite=overwrite, argv=argv)
    with run:
        section = compare(config, run, progress,
                          tensorboard=None if tensorboard is None else Path(tensorboard))
        run.metrics.update(section.metrics)
        run.extra["sections"] = [section.record()]
        atomic_write_text(run.artifact("report", "report.md"),
                          f"# {section.title}\n\n{section.markdown}\n")
    return run, section

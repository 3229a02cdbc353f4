"""`seqlm lab`: every experiment built so far, run end to end into one directory, one
Markdown report and one web page.

Each experiment contributes a *step*: a function `step(ctx: LabContext) -> LabSection`,
registered by name in `STEPS` below (imported only when it runs). A step writes its plots
into `ctx.run`, returns its Markdown and its metrics; the lab puts every section's metrics
into one manifest under the step's name, keeps the sections themselves in the manifest's
`sections`, and joins them into `report.md` and `report.html` (`seqlm.report.html`)
after every step, so an interrupted lab leaves both reports of what ran. A step whose data
cannot be had (Tiny Shakespeare offline) is reported as skipped with the reason, and the lab
goes on. `quick` asks every step for a budget that keeps the whole lab under a minute on 2
cores.
"""

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlm.atomic import atomic_write_text
from seqlm.config import CorpusConfig, LabConfig
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.runs.run import Run

# name -> "module:function"; the order is the order of the story and of the report
STEPS: dict[str, str] = {
    "corpora": "seqlm.lab.corpus_table:lab_step",
    "ngram": "seqlm.lab.ngram_baseline:lab_step",
    "infinigram": "seqlm.lab.infinigram_lab:lab_step",  # beyond KenLM: ∞-gram, mixing
    "by-hand": "seqlm.lab.byhand:lab_step",
    "vanishing": "seqlm.lab.vanishing:lab_step",
    "compare": "seqlm.lab.compare:lab_step",
    # the gated cells' story: the small budget (compare), then where gating wins: larger
    # budgets (sweep), long distances in words (agreement) and in brackets (structure)
    "sweep": "seqlm.lab.sweep:lab_step",  # the comparison over budgets and seeds
    "agreement": "seqlm.lab.agreement:lab_step",  # gating over long distances
    "structure": "seqlm.lab.structure:lab_step",
    "seq2seq": "seqlm.lab.seq2seq_compare:lab_step",
    "revival": "seqlm.lab.revival:lab_step",  # how recurrence came back: minGRU/minLSTM
}


@dataclass
class LabSection:
    title: str
    markdown: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def record(self, step: str = "") -> dict[str, str]:
        """What the manifest keeps of the section, for its report (`sections`)."""
        return {"step": step, "title": self.title, "markdown": self.markdown}


@dataclass
class LabContext:
    """What a step gets: the run (for artifact paths), the lab config, progress, and corpora
    loaded once per lab (keyed by their config)."""

    run: Run
    config: LabConfig
    progress: ProgressCallback | None = None
    tensorboard: Path | None = None  # where steps that train log TensorBoard events
    corpora: dict[CorpusConfig, Corpus] = field(default_factory=dict)
    unavailable: dict[CorpusConfig, SeqlmError] = field(default_factory=dict)

    def corpus(self, name: str, **options: Any) -> Corpus:
        """The corpus, loaded once per lab; one that could not be had (offline) is not tried
        again by later steps, which get the same error at once."""
        cfg = CorpusConfig(name=name, seed=self.config.seed, data_dir=self.config.data_dir,
                           **options)
        if cfg in self.unavailable:
            raise self.unavailable[cfg]
        if cfg not in self.corpora:
            try:
                self.corpora[cfg] = load_corpus(cfg, self.progress)
            except SeqlmError as e:
                self.unavailable[cfg] = e
                raise
        return self.corpora[cfg]


def lab_settings(ctx: LabContext) -> dict[str, Any]:
    """The lab's seed, data folder and device as overrides of the training run an experiment
    contains (its `train`), laid on with `seqlm.config.merge`: the seed seeds the corpus too."""
    lab = ctx.config
    return {"train": {"seed": lab.seed, "corpus": {"seed": lab.seed, "data_dir": lab.data_dir},
                      "engine": {"device": lab.device}}}


def resolve_steps(config: LabConfig) -> list[str]:
    unknown = [s for s in config.steps if s not in STEPS]
    if unknown:
        raise SeqlmError(f"unknown lab step(s) {', '.join(unknown)}: choose from "
                         f"{', '.join(STEPS)}")
    return list(config.steps) or list(STEPS)


def run_section(command: str, config: Any, build: Callable, out=None, overwrite: bool = False,
                argv=None, progress: ProgressCallback | None = None) -> tuple[Run, LabSection]:
    """One lab section as a command of its own (`seqlm compare --agreement`, `--sweep`): its
    run directory, with the section's metrics, report.md and report.html.
    `build(config, run, progress)` makes the section."""
    run = Run(command, config, out=out, overwrite=overwrite, argv=argv)
    with run:
        section = build(config, run, progress)
        run.metrics.update(section.metrics)
        run.extra["sections"] = [section.record()]
        atomic_write_text(run.artifact("report", "report.md"),
                          f"# {section.title}\n\n{section.markdown}\n")
    return run, section


def run_step(name: str, ctx: LabContext) -> LabSection:
    module, function = STEPS[name].split(":")
    step = getattr(importlib.import_module(module), function)
    try:
        return step(ctx)
    except SeqlmError as e:  # the data is not to be had here: say so, go on with the rest
        return LabSection(title=name, markdown=f"*Skipped: {e}*", metrics={"skipped": str(e)})


def run_lab(config: LabConfig, argv: list[str] | None = None,
            progress: ProgressCallback | None = None,
            tensorboard: str | Path | None = None,
            should_stop: Callable[[], bool] | None = None) -> Run:
    """Run the lab's steps into one run directory; return the finished `Run`. With
    `tensorboard`, the steps that train language models log there (one folder per model).
    `should_stop()` is asked before each step: once it says yes, the lab ends with the steps
    done so far, its status "interrupted" and the steps not run named in its report."""
    steps = resolve_steps(config)
    if config.device not in ("auto", "cpu"):  # a device that is not here: say so, not skip
        from seqlm.training.devices import resolve_device

        resolve_device(config.device)
    if tensorboard is not None:
        from seqlm.runs.tensorboard_log import require_tensorboard

        require_tensorboard(tensorboard)  # before the run directory exists
    run = Run("lab", config, out=config.out, overwrite=config.overwrite, argv=argv)
    with run:
        ctx = LabContext(run=run, config=config, progress=progress,
                         tensorboard=None if tensorboard is None else Path(tensorboard))
        sections: list[LabSection] = []
        run.keeps = ("report.md",)  # an interrupted lab's steps are worth its old report
        for i, name in enumerate(steps):
            if should_stop is not None and should_stop():
                run.status = "interrupted"
                run.extra["steps_not_run"] = steps[i:]
                write_progress(run, ctx, sections, steps)
                break
            report(progress, Progress("lab", i, len(steps), unit="step", message=name))
            start = time.perf_counter()
            section = run_step(name, ctx)
            run.timings[name] = round(time.perf_counter() - start, 3)
            run.metrics[name] = section.metrics
            sections.append(section)
            write_progress(run, ctx, sections, steps)  # an interrupted lab keeps what it did
        report(progress, Progress("lab", len(steps), len(steps), unit="step"))
    return run


def write_progress(run: Run, ctx: LabContext, sections: list[LabSection],
                   steps: list[str]) -> None:
    """The reports and the manifest as they stand after the steps done so far."""
    for cfg, corpus in ctx.corpora.items():
        run.data[corpus_key(cfg)] = corpus.identity()
    named = with_lead(list(zip(steps, sections, strict=False)), run.metrics)
    run.extra["sections"] = [s.record(step) for step, s in named]
    atomic_write_text(run.artifact("report", "report.md"),
                      render_report(run, [s for _, s in named]))
    run.write_manifest("running")
    run.write_report()


def with_lead(named: list[tuple[str, LabSection]], metrics: dict
              ) -> list[tuple[str, LabSection]]:
    """The sections with the gated cells' lead (`seqlm.lab.gating_lead`) before `compare`,
    once a step it quotes has run."""
    from seqlm.lab.gating_lead import TITLE, lead

    text = lead(metrics)
    at = next((i for i, (step, _) in enumerate(named) if step == "compare"), None)
    if text is None or at is None:
        return named
    return [*named[:at], ("gating-lead", LabSection(TITLE, text)), *named[at:]]


def corpus_key(cfg: CorpusConfig) -> str:
    """`dates` for a default config, `dates[regime=long]` where options differ."""
    base = CorpusConfig(name=cfg.name, seed=cfg.seed, data_dir=cfg.data_dir)
    changed = [f"{f}={getattr(cfg, f)}" for f in cfg.__dataclass_fields__
               if getattr(cfg, f) != getattr(base, f)]
    return cfg.name + (f"[{','.join(changed)}]" if changed else "")


def render_report(run: Run, sections: list[LabSection]) -> str:
    env = run.manifest("ok")["environment"]
    mode = "quick" if run.config.quick else "full"
    lines = [
        "# seqlm lab report",
        "",
        f"Run `{' '.join(run.argv)}` ({mode}, seed {run.config.seed}), seqlm {env['seqlm']} "
        f"(commit {env['git_commit']}), Python {env['python']}, NumPy {env['numpy']}, "
        f"torch {env['torch']}, on {env['cpu']} ({env['cpu_count']} CPUs).",
        "",
        "| step | seconds |",
        "|---|---|",
        *[f"| {name} | {secs:.1f} |" for name, secs in run.timings.items()],
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", "", section.markdown.strip(), ""]
    if run.extra.get("steps_not_run"):
        lines += ["## Interrupted", "", "The lab was stopped before these steps ran: "
                  + ", ".join(run.extra["steps_not_run"]) + ".", ""]
    return "\n".join(lines)

"""Run directories for training, one convention for every model family.

    a new run           --out DIR (default runs/<command>-<time>): a fresh run directory
    --resume RUN        go on in RUN itself: its last.pt is read, training continues where it
                        stopped, and the manifest records the resume; RUN may also name a
                        checkpoint file inside the run directory
    --resume RUN --out NEW
                        go on from RUN's last.pt into a new directory NEW, leaving RUN as it
                        is (best.pt is copied, so NEW stands on its own)

`train_run(family, config, ...)` is the one training run for every model family: the family
(`Family`: `seqlm.runs.lm.LM`, `seqlm.runs.seq2seq.Seq2Seq`) loads its data and vocabulary,
builds its engine and records its results; resuming, the run directory, divergence (status
"diverged", the checkpoints and the directory kept), a lost torchrun process (status
"failed"), interrupts (`should_stop`, status "interrupted") and the listeners' closing are
handled here, once. Under torchrun rank 0 alone writes the run directory; every rank reads
the last.pt it resumes from, and the manifest notes what a resume changed (another world size
recomputes the stream layout; see `seqlm.training.lm`). Leaves out: resuming from best.pt (it
holds weights, not the training state).
"""

import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from seqlm.checkpoint import BEST, LAST, checkpoint_path, read_checkpoint
from seqlm.config import to_dict
from seqlm.errors import SeqlmError
from seqlm.progress import ProgressCallback
from seqlm.runs.run import Run
from seqlm.runs.tensorboard_log import require_tensorboard
from seqlm.training.devices import Placement
from seqlm.training.distributed import PeerLostError, World, session
from seqlm.training.engine import DivergedError, Engine, Result

# what may change when a run is resumed, by family: the budgets grow, where it runs changes,
# a file corpus may have moved (its sha256 is checked), the scan path of mingru / minlstm and
# the kernels or backend of the LM's cells change how, not what, is computed; any other field
# that differs from the checkpoint's is refused, by the CLI and by `seqlm.train(...,
# resume=...)` alike
MAY_CHANGE_ON_RESUME: dict[str, frozenset[str]] = {
    "lm": frozenset({"max_steps", "max_minutes", "final_eval_max_tokens", "threads",
                     "data_dir", "path", "name", "device", "precision", "scan", "scan_chunk",
                     "distributed_timeout", "kernels", "backend"}),
    "seq2seq": frozenset({"max_steps", "max_minutes", "threads", "device", "precision",
                          "distributed_timeout"}),
}


def leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A config as a dict of dotted paths to values."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(leaves(value, f"{prefix}.{key}" if prefix else key))
    return out


def check_resume_config(saved: dict[str, Any], config: Any, kind: str) -> None:
    """`config` may differ from the checkpoint's (`saved`) only where the family allows."""
    old, new = leaves(saved), leaves(to_dict(config))
    for path, value in new.items():
        name = path.rsplit(".", 1)[-1]
        if name in MAY_CHANGE_ON_RESUME[kind] or path not in old:
            continue
        if old[path] != value and not (isinstance(value, list | tuple)
                                       and list(value) == old[path]):
            raise SeqlmError(f"--{name.replace('_', '-')} {value} does not match the "
                             f"checkpoint's {old[path]}: drop the option to resume, or start "
                             "a new run")


@dataclass(frozen=True)
class Resumed:
    """A last.pt read once: its payload, its run directory, and how the user named it."""

    payload: dict[str, Any]
    run_dir: Path
    source: str


def resume_from(resume: "str | Path | Resumed", kind: str) -> Resumed:
    """The last.pt to go on from (a run directory or the file); read once per command."""
    if isinstance(resume, Resumed):
        return resume
    path = checkpoint_path(resume, prefer=LAST)
    if path.name == BEST:
        raise SeqlmError(f"{path} holds the best weights, not the training state: resume from "
                         f"{path.with_name(LAST)} or its run directory")
    payload = read_checkpoint(path, kind, required=("config", "vocab", "model", "training"))
    return Resumed(payload, path.parent, str(resume))


def open_training_run(command: str, config: Any, out: str | Path | None, overwrite: bool,
                      resumed_dir: Path | None, argv: list[str] | None, seed: int,
                      writes: bool = True) -> Run:
    """The Run to train into (see the module docstring); not yet entered. `writes=False`:
    a training process other than rank 0, which writes nothing."""
    if resumed_dir is not None and (out is None or Path(out).resolve() == resumed_dir.resolve()):
        return Run(command, config, out=resumed_dir, argv=argv, seed=seed, resume=True,
                   writes=writes)
    return Run(command, config, out=out, overwrite=overwrite, argv=argv, seed=seed,
               writes=writes)


def record_processes(run: Run, processes: dict[str, Any], changes: dict[str, Any]) -> None:
    """World size, backend and devices in the manifest; a resume's changes (another world
    size, the layout recomputed) in its entry of `resumes`, or beside `resumed_from`."""
    run.extra["distributed"] = processes
    if not changes:
        return
    if run.resume and run.extra.get("resumes"):
        run.extra["resumes"][-1]["changed"] = changes
    else:
        run.extra["resume_changes"] = changes


def adopt_best(run: Run, resumed_dir: Path | None) -> None:
    """A run forked from another keeps a copy of its best weights so far."""
    if resumed_dir is None or run.resume or not run.writes:
        return
    best = resumed_dir / BEST
    if best.is_file():
        shutil.copyfile(best, run.path / BEST)
    run.extra["resumed_from"] = str(resumed_dir / LAST)


class Family(Protocol):
    """What a model family brings to `train_run`: its checkpoint kind (which is also its
    resume policy's name), its command, and the steps that differ between families."""

    kind: str
    command: str

    def resolve(self, config: Any) -> Any:
        """The config as the run records it (e.g. a `file:` corpus made absolute)."""

    def seed(self, config: Any) -> int: ...

    def load_data(self, config: Any, resumed: Resumed | None,
                  progress: ProgressCallback | None) -> Any:
        """Corpus, splits and vocabulary (the checkpoint's when resuming)."""

    def listeners(self, run: Run, config: Any, data: Any,
                  tensorboard: str | Path | None) -> list:
        """Rank 0's engine listeners: the live report, TensorBoard, ..."""

    def engine(self, config: Any, data: Any, run: Run, resumed: Resumed | None,
               placement: Placement, world: World, listeners: list) -> Engine:
        """Task, model and engine (restored from `resumed`'s last.pt when given)."""

    def describe(self, run: Run, data: Any) -> None:
        """The data's identity in the manifest."""

    def record(self, run: Run, engine: Engine, result: Result | None, data: Any,
               config: Any, progress: ProgressCallback | None,
               should_stop: Callable[[], bool] | None) -> None:
        """Results into the run (`result` None: training stopped by an error): the best
        weights scored, samples, plots."""


def report_listeners(run: Run, record: Callable[[Engine], None],
                     tensorboard: str | Path | None, sampler: Callable | None = None) -> list:
    """Rank 0's listeners of every family: the live report (`record(engine)` puts the history
    into the run's metrics, then the manifest and report.html are written again after each
    evaluation) and, if asked, the TensorBoard log (with `sampler`'s samples)."""
    from seqlm.report.training_pages import LiveReport

    listeners: list = [LiveReport(run, record)]
    if tensorboard is not None:
        from seqlm.runs.tensorboard_log import TensorBoardLog

        listeners.append(TensorBoardLog(tensorboard, sampler))
    return listeners


def train_run(family: Family, config: Any, out: str | Path | None = None,
              overwrite: bool = False, resume: "str | Path | Resumed | None" = None,
              argv: list[str] | None = None, progress: ProgressCallback | None = None,
              should_stop: Callable[[], bool] | None = None,
              tensorboard: str | Path | None = None) -> Run:
    """Train `family`'s model into a run directory; `resume` is a run (or its last.pt) to go
    on from, refused where the config differs from the checkpoint's beyond
    `MAY_CHANGE_ON_RESUME`. Divergence and a lost process write the manifest first, then
    raise DivergedError or PeerLostError with a message naming the run directory."""
    if tensorboard is not None:
        require_tensorboard(tensorboard)  # before anything is loaded or made
    resumed = resume_from(resume, family.kind) if resume is not None else None
    config = family.resolve(config)
    if resumed is not None:
        check_resume_config(resumed.payload["config"], config, family.kind)
    with session(config.engine) as (world, placement):
        progress = progress if world.writes else None  # rank 0 alone reports
        with ExitStack() as stack:
            engine, run, data = prepare_run(family, config, resumed, out, overwrite, argv,
                                            progress, world, placement, stack, tensorboard)
            stopped = train_and_record(family, run, engine, data, config, progress,
                                       should_stop)
        if stopped is not None:  # its message names where the run ended up
            stopped.args = (run.final(str(stopped)),)
            raise stopped
    return run


def prepare_run(family: Family, config: Any, resumed: Resumed | None, out, overwrite: bool,
                argv, progress, world: World, placement: Placement, stack: ExitStack,
                tensorboard: str | Path | None) -> tuple[Engine, Run, Any]:
    """Data, run directory (entered on `stack`) and engine (with rank 0's listeners), agreed
    on by every process before any trains."""
    resumed_dir = resumed.run_dir if resumed else None
    with world.agreeing() as shared:
        data = family.load_data(config, resumed, progress)
        run = stack.enter_context(open_training_run(
            family.command, config, out, overwrite, resumed_dir, argv, family.seed(config),
            world.writes))
        listeners = family.listeners(run, config, data, tensorboard) if world.writes else []
        engine = family.engine(config, data, run, resumed, placement, world, listeners)
        adopt_best(run, resumed_dir)
        shared.value = str(run.path)
    run.path = engine.out_dir = Path(shared.value)  # rank 0's, on every rank
    family.describe(run, data)
    run.extra["placement"] = placement.describe()
    record_processes(run, world.describe(placement), engine.resume_changes)
    return engine, run, data


def train_and_record(family: Family, run: Run, engine: Engine, data: Any, config: Any,
                     progress, should_stop) -> SeqlmError | None:
    """Train and record; the error that stopped training (divergence, a lost process), if one
    did: the manifest says why, the checkpoints and the run directory are kept."""
    stopped, result = None, None
    try:
        with run.timer("train"):
            result = engine.run(progress, should_stop)
    except (DivergedError, PeerLostError) as e:
        stopped, run.status = e, "diverged" if isinstance(e, DivergedError) else "failed"
        run.extra["error"] = str(e)
    finally:
        for listener in engine.listeners:
            getattr(listener, "close", lambda: None)()
    family.record(run, engine, result, data, config, progress, should_stop)
    return stopped

"""Run directories for training, one convention for every model family.

    a new run           --out DIR (default runs/<command>-<time>): a fresh run directory
    --resume RUN        go on in RUN itself: its last.pt is read, training continues where it
                        stopped, and the manifest records the resume; RUN may also name a
                        checkpoint file inside the run directory
    --resume RUN --out NEW
                        go on from RUN's last.pt into a new directory NEW, leaving RUN as it
                        is (best.pt is copied, so NEW stands on its own)

Under torchrun rank 0 alone writes the run directory; every rank reads the last.pt it
resumes from, and the manifest notes what a resume changed (another world size recomputes
the stream layout; see `seqlm.training.lm`). Leaves out: resuming from best.pt (it holds
weights, not the training state).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlm.checkpoint import BEST, LAST, checkpoint_path, read_checkpoint
from seqlm.config import to_dict
from seqlm.errors import SeqlmError
from seqlm.runs.run import Run

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

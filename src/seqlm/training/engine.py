"""The one training loop: every torch model in seqlm trains through `Engine`.

    until max_steps, the time budget, early stopping or a stop request:
        micro-batches = task.batches(step)               engine.accumulate of them
        for each:  loss = task.loss_sum(model, micro) / tokens in all of them
                   (scaled) backward                      under the device's autocast
        unscale, clip the global gradient norm, optimiser step at the scheduled rate
        every log_every updates: history entry (loss, gradient norms, rate, tokens/s)
        every eval_every updates: task.evaluate; keep best.pt; write last.pt

A task (`Task`) supplies only what differs between model families: its micro-batches (on the
device), the summed loss of one, how validation scores, and its own state to checkpoint (the
data position and carried state of a language model, the sampling coins of seq2seq).
Dividing every micro-batch's summed loss by the tokens of the whole update makes N
accumulated micro-batches the same update as one batch N times larger.

Nothing leaves the device per step: the loss is summed on the device and read (one sync) at
each history entry, where divergence (a non-finite loss, or one far above ln V) is caught.
`last.pt` holds everything needed to go on exactly: weights, optimiser, schedule, loss
scaler, position, RNG states and the task's state, so an interrupted and resumed run ends
with the weights of an uninterrupted one. Listeners (`Listener`: TensorBoard, a live report)
are told of each history entry and each evaluation; they read, and change nothing.

Under torchrun one engine runs in each process (`seqlm.training.distributed.World`): the
model trains through DistributedDataParallel with gradients summed over the ranks, every
loss divided by the tokens of the whole update on all ranks, so N processes make the update
of one process with N times the batch. Once per update the ranks agree on the training
seconds (the schedule's time and the budget) and on a stop request; the evaluation is the
task's, sharded and summed; rank 0 alone writes checkpoints and reports progress, with every
rank's task and RNG state gathered into last.pt. Leaves out: several devices per process.
"""

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from seqlm.checkpoint import BEST, LAST, NonFiniteWeightsError, save_checkpoint
from seqlm.config import EngineConfig
from seqlm.errors import SeqlmError
from seqlm.nn.lm import count_parameters
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.training.devices import Placement
from seqlm.training.distributed import PeerLostError, World, rank_seed
from seqlm.training.schedule import LRSchedule
from seqlm.training.threads import torch_threads

StopCheck = Callable[[], bool]


class DivergedError(SeqlmError):
    """The training loss became non-finite or far above a uniform guess."""


class Micro(Protocol):
    count: int  # the tokens whose losses this micro-batch sums


class Task(Protocol):
    """What a model family supplies to the engine."""

    kind: str  # the checkpoint kind
    headline: str  # the validation metric the progress bar shows
    vocab_size: int  # predicted classes: ln V is a uniform guess's loss

    def batches(self, step: int) -> list[Micro]: ...
    def loss_sum(self, model: nn.Module, micro: Micro, step: int) -> Tensor: ...
    def evaluate(self, model: nn.Module, progress: ProgressCallback | None,
                 should_stop: StopCheck | None) -> dict[str, float] | None: ...
    def state_dict(self) -> dict[str, Any]: ...  # this rank's
    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]: ...  # every rank's, in one
    # a merged state, possibly of another world size; returns what changed (for the manifest)
    def load_state_dict(self, state: dict[str, Any]) -> dict[str, Any]: ...
    def payload(self) -> dict[str, Any]: ...  # config, vocab and data identity as dicts
    def log_extras(self, step: int) -> dict[str, float]: ...


class Listener(Protocol):
    """Told of what the engine records: each history entry, each evaluation (after best.pt
    and last.pt are written). It may read the engine (its model, step), never change it."""

    def history(self, entry: dict[str, float], engine: "Engine") -> None: ...
    def evaluation(self, metrics: dict[str, float], engine: "Engine") -> None: ...


@dataclass
class Position:
    """Where training stands; goes into last.pt."""

    step: int = 0
    seconds: float = 0.0  # training time so far (evaluations included), summed over resumes
    best: float = math.inf  # the best validation objective so far (lower is better)
    best_step: int = -1
    evals_since_best: int = 0


def checked_position(fields: dict[str, Any]) -> Position:
    """A last.pt's position, refused (ValueError) unless its counts are counts."""
    position = Position(**fields)
    counts = (position.step, position.evals_since_best)
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts) or not (
            isinstance(position.seconds, int | float) and position.seconds >= 0) or not (
            isinstance(position.best_step, int) and position.best_step <= position.step):
        raise ValueError(f"its position is impossible: {fields}")
    return position


def check_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Every optimiser state tensor has the shape of its parameter (torch checks only the
    number of parameters; a mismatch would fail later, inside an update). ValueError if not."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            for name, value in optimizer.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 \
                        and value.shape != p.shape:
                    raise ValueError(f"optimizer state {name} of shape {tuple(value.shape)} "
                                     f"for a parameter of shape {tuple(p.shape)}")


@dataclass
class Result:
    status: str  # finished, time budget, early stop, interrupted
    position: Position
    history: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    tokens_per_second: float = 0.0  # over training time alone, never evaluation
    parameters: int = 0


def build_optimizer(model: nn.Module, config: EngineConfig) -> torch.optim.Optimizer:
    params = unique_parameters(model)
    lr = config.schedule.lr
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def unique_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters, a tied matrix once."""
    return list({id(p): p for p in model.parameters()}.values())




def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    """L2 norm of the gradient per top-level part (recurrent layers one by one)."""
    squares: dict[str, Tensor] = {}
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        part = name.split(".")[0]
        if "_l" in name and part == "rnn":
            part = "layer" + name.split("_l")[-1].split("_")[0]
        squares[part] = squares.get(part, 0.0) + p.grad.detach().float().pow(2).sum()
    return {f"grad_norm/{part}": math.sqrt(float(v)) for part, v in squares.items()}


class Engine:
    """One run's model, optimiser, schedule, loss scaler and position, on one device."""

    def __init__(self, task: Task, model: nn.Module, config: EngineConfig, out_dir: Path,
                 placement: Placement | None = None, world: World | None = None,
                 listeners: Sequence[Listener] = ()):
        self.task, self.config, self.out_dir = task, config, Path(out_dir)
        self.listeners = tuple(listeners)
        self.placement = placement or Placement.resolve(config.device, config.precision)
        self.world = world or World(timeout_s=config.distributed_timeout)
        self.model = model.to(self.placement.device)
        self.train_model = self.model  # what training calls: the DDP wrapper once run() starts
        self.resume_changes: dict[str, Any] = {}  # what differs from the run resumed
        self.optimizer = build_optimizer(self.model, config)
        self.scaler = self.placement.scaler()
        budget = None if config.max_minutes is None else 60 * config.max_minutes
        self.schedule = LRSchedule(config.schedule, config.max_steps, budget)
        self.position = Position()
        self.loss_limit = config.diverge_factor * math.log(max(task.vocab_size, 2))
        self.history: list[dict[str, float]] = []
        self.evals: list[dict[str, float]] = []
        self.window = Window(self.placement.device)

    # ---- checkpoints -----------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """The training section of last.pt, with every rank's task and RNG state (a
        collective: every rank calls it; None on ranks other than 0)."""
        rng = {"torch": torch.get_rng_state()}
        if self.placement.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.placement.device)
        task = self.task.state_dict()
        if self.world.distributed:
            every = self.world.gather({"task": task, "rng": rng})
            if every is None:
                return None
            task = self.task.merge([r["task"] for r in every])
            rng = {**every[0]["rng"], "ranks": [r["rng"] for r in every]}
        return {"optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
                "scaler": self.scaler.state_dict(), "position": asdict(self.position),
                "rng": rng, "task": task, "history": self.history,
                "evals": self.evals, "placement": self.placement.describe(),
                "world": {"size": self.world.size, "backend": self.world.backend}}

    def restore(self, payload: dict[str, Any], source: str | Path = "the checkpoint") -> None:
        """Continue from a last.pt payload (same config and vocabulary); a checkpoint whose
        parts disagree with its config is a SeqlmError."""
        try:
            self.model.load_state_dict(payload["model"])
            training = payload["training"]
            self.optimizer.load_state_dict(training["optimizer"])
            self.schedule.load_state_dict(training["schedule"])
            if training["scaler"] and self.scaler.is_enabled():  # fp16 in both runs
                self.scaler.load_state_dict(training["scaler"])
            self.position = checked_position(training["position"])
            check_optimizer_state(self.optimizer)
            self.resume_changes = self.task.load_state_dict(training["task"])
            self.history, self.evals = list(training["history"]), list(training["evals"])
            self.restore_rng(training)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
            first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
            raise SeqlmError(f"{source} does not match its own config or vocabulary ({first}): "
                             "it was edited or damaged; resume from another checkpoint") from None
        if self.position.step >= self.config.max_steps:
            raise SeqlmError(f"{source} is at step {self.position.step} and --max-steps is "
                             f"{self.config.max_steps}: raise --max-steps to train on")

    def restore_rng(self, training: dict[str, Any]) -> None:
        """This rank's RNG states; a rank the resumed run did not have draws fresh ones."""
        saved = training.get("world", {}).get("size", 1)
        if saved != self.world.size:
            self.resume_changes["world_size"] = [saved, self.world.size]
        ranks = training["rng"].get("ranks", [training["rng"]])
        if self.world.rank >= len(ranks):
            torch.manual_seed(rank_seed(self.position.step, self.world.rank))
            return
        rng = ranks[self.world.rank]
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.placement.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.placement.device)

    def save(self, name: str, metrics: dict | None = None) -> Path | None:
        """Write best.pt or last.pt; every rank calls it, rank 0 alone writes."""
        training = self.state() if name == LAST else None
        if not self.world.writes:
            return None
        payload = {**self.task.payload(), "model": self.model.state_dict(),
                   "step": self.position.step, "metrics": metrics or {}}
        if name == LAST:
            payload["training"] = training
        try:
            return save_checkpoint(self.out_dir / name, self.task.kind, payload)
        except NonFiniteWeightsError:  # the loss was finite, the weights are not: diverged
            raise self.diverged(float("nan")) from None

    # ---- one update ------------------------------------------------------------------------
    def update(self, logged: bool) -> dict[str, Any]:
        """One optimiser step over the task's micro-batches; the loss stays on the device."""
        step = self.position.step
        micros = self.task.batches(step)
        # the tokens of the whole update, every rank's: gradients are then summed over ranks
        total = int(self.world.sum([sum(m.count for m in micros)], "counting tokens")[0])
        lr = self.schedule.apply(self.optimizer, step, self.position.seconds)
        self.train_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=self.placement.device)
        for j, micro in enumerate(micros):
            with self.world.no_sync(self.train_model, last=j == len(micros) - 1):
                with self.placement.autocast():
                    loss = self.task.loss_sum(self.train_model, micro, step).float() / total
                with self.world.collective("summing gradients"):
                    self.scaler.scale(loss).backward()
            loss_sum += loss.detach()
        self.scaler.unscale_(self.optimizer)
        norms = layer_grad_norms(self.model) if logged else {}
        clip = self.config.clip if self.config.clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(unique_parameters(self.model), clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.position.step += 1
        return {"loss": loss_sum, "grad_norm": grad_norm, "lr": lr, "tokens": total, **norms}

    # ---- evaluation ------------------------------------------------------------------------
    def evaluate(self, progress: ProgressCallback | None = None,
                 should_stop: StopCheck | None = None) -> dict[str, float] | None:
        """Score the validation data, keep best.pt, write last.pt; None if the task has no
        validation data or `should_stop()` cut the pass short."""
        self.check_finite()
        with self.placement.autocast():
            metrics = self.task.evaluate(self.model, progress, should_stop)
        if metrics is None:
            return None
        metrics = {"step": self.position.step, **metrics}
        self.evals.append(metrics)
        self.schedule.observe(metrics["loss_nats"])
        if metrics["objective"] < self.position.best:
            self.position.best, self.position.best_step = metrics["objective"], metrics["step"]
            self.position.evals_since_best = 0
            self.save(BEST, metrics)
        else:
            self.position.evals_since_best += 1
        self.save(LAST)
        for listener in self.listeners:
            listener.evaluation(metrics, self)
        return metrics

    # ---- the loop --------------------------------------------------------------------------
    def run(self, progress: ProgressCallback | None = None,
            should_stop: StopCheck | None = None) -> Result:
        """Train until max_steps, max_minutes, early stopping or `should_stop()`, on
        `config.threads` torch threads (restored afterwards)."""
        with torch_threads(self.config.threads):
            self.train_model = self.world.wrap(self.model, self.placement.device)
            try:
                return self.loop(progress, should_stop)
            except PeerLostError as e:
                raise e.at(self.position.step, self.kept()) from None
            finally:  # drop DDP now: its reducer holds the process group and its last works,
                self.train_model = self.model  # which must not outlive the interpreter

    def loop(self, progress: ProgressCallback | None, should_stop: StopCheck | None) -> Result:
        c = self.config
        started, spent_before = time.perf_counter(), self.position.seconds
        status = "finished"
        self.window.restart()
        while self.position.step < c.max_steps:
            logged = (self.position.step + 1) % c.log_every == 0
            self.window.add(self.update(logged))
            step = self.position.step
            if step % c.log_every == 0 or step == c.max_steps:
                self.log(progress)
            if step % c.eval_every == 0 and step < c.max_steps:
                self.window.pause()  # evaluation time is not training time
                self.evaluate(progress, should_stop)
                self.window.restart()
                if c.patience is not None and self.position.evals_since_best >= c.patience:
                    status = "early stop"
                    break
            # every rank takes the same seconds (the schedule's time) and the same decision
            self.position.seconds, stop = self.world.agree_step(
                spent_before + time.perf_counter() - started, asked(should_stop))
            if c.max_minutes is not None and self.position.seconds >= 60 * c.max_minutes:
                status = "time budget"
                break
            if stop:
                status = "interrupted"
                break
        if self.window.steps:
            self.log(progress)
        if status not in ("interrupted", "early stop") and self.evaluate(
                progress, should_stop) is None and self.world.any(asked(should_stop)):
            status = "interrupted"
        if status == "interrupted" or not self.evals or self.evals[-1]["step"] != \
                self.position.step:
            self.save(LAST)  # keep where training stands
        return Result(status, self.position, self.history, self.evals,
                      self.window.rate(), count_parameters(self.model))

    def log(self, progress: ProgressCallback | None) -> None:
        """A history entry for the updates since the last one (one device sync)."""
        w = self.window
        loss = self.world.sum([float(w.loss_sum)], "adding up the loss")[0] / w.steps
        norms = w.norms  # read before flush() clears the window
        entry = {"step": self.position.step, "loss": loss, "grad_norm": float(w.grad_norm),
                 "lr": w.lr, "tokens_per_second": w.flush(),
                 **norms, **self.task.log_extras(self.position.step - 1)}
        self.history.append(entry)
        if not loss <= self.loss_limit:  # NaN fails every comparison
            raise self.diverged(loss)
        for listener in self.listeners:
            listener.history(entry, self)
        metrics = {"loss": loss, "ppl": math.exp(min(loss, 50)),
                   "tok/s": entry["tokens_per_second"]}
        if self.evals and self.task.headline in self.evals[-1]:
            metrics[self.task.headline] = self.evals[-1][self.task.headline]
        report(progress, self.progress_event(metrics))

    def progress_event(self, metrics: dict[str, float]) -> Progress:
        """The bar counts updates, or seconds of the budget when the schedule runs on time."""
        c = self.config
        if c.schedule.horizon == "time":
            return Progress("train", int(self.position.seconds), int(60 * c.max_minutes),
                            unit="s", metrics={"step": self.position.step, **metrics})
        return Progress("train", self.position.step, c.max_steps, unit="step", metrics=metrics)

    def check_finite(self) -> None:
        """Before a checkpoint is written: no NaN crept in since the last history entry."""
        if self.window.steps and not math.isfinite(
                self.world.sum([float(self.window.loss_sum)], "adding up the loss")[0]):
            raise self.diverged(float("nan"))

    def kept(self) -> str:
        """Where the last checkpoint is, for an error that stops training (rank 0 knows)."""
        if not self.world.writes:
            return ""
        if (self.out_dir / LAST).is_file():
            return (f"; the last checkpoint is {self.out_dir / LAST}: go on with --resume "
                    f"{self.out_dir}")
        return "; no checkpoint had been written yet"

    def diverged(self, loss: float) -> DivergedError:
        kept = [name for name in (BEST, LAST) if (self.out_dir / name).is_file()]
        where = (f"the last good checkpoint is kept in {self.out_dir / kept[0]}" if kept else
                 "no checkpoint had been written yet")
        why = "not finite" if not math.isfinite(loss) else (
            f"above {self.config.diverge_factor:g} x ln V = {self.loss_limit:.2f} nats, "
            "where ln V is a uniform guess")
        return DivergedError(
            f"training loss became {loss:.4g} by step {self.position.step} (diverged: {why}); "
            f"lower the learning rate (--lr) or the clip (--clip); {where}")


def asked(should_stop: StopCheck | None) -> bool:
    return should_stop is not None and should_stop()


class Window:
    """What the updates since the last history entry add up to, kept on the device."""

    def __init__(self, device: torch.device):
        self.device = device
        self.tokens_total, self.seconds_total = 0, 0.0
        self.clear()
        self.restart()

    def clear(self) -> None:
        self.loss_sum = torch.zeros((), device=self.device)
        self.steps, self.tokens, self.seconds = 0, 0, 0.0
        self.grad_norm: Tensor | float = 0.0
        self.lr, self.norms = 0.0, {}

    def restart(self) -> None:
        """Training time counts from now (after an evaluation, or at the start)."""
        self.since = time.perf_counter()

    def pause(self) -> None:
        """Training time stops counting (an evaluation follows)."""
        self.seconds += time.perf_counter() - self.since

    def add(self, row: dict[str, Any]) -> None:
        self.loss_sum += row["loss"]
        self.steps += 1
        self.tokens += row["tokens"]
        self.grad_norm, self.lr = row["grad_norm"], row["lr"]
        self.norms = {k: v for k, v in row.items() if k.startswith("grad_norm/")} or self.norms

    def flush(self) -> float:
        """Tokens per second of this window's training time (read after a sync); clears it."""
        now = time.perf_counter()
        self.seconds += now - self.since
        rate = self.tokens / self.seconds if self.seconds > 0 else 0.0
        self.tokens_total += self.tokens
        self.seconds_total += self.seconds
        self.clear()
        self.since = now
        return rate

    def rate(self) -> float:
        return self.tokens_total / self.seconds_total if self.seconds_total > 0 else 0.0

"""Training a recurrent language model with truncated backpropagation through time.

The loop (Williams & Peng 1990; Zaremba et al. 2014's setup):

    for each window (x, y) of the B training streams, in order (`LMBatches`):
        state = detach(state)                  keep the values, cut the graph
        logits, loss, state = model(x, y, state)
        loss.backward(); clip the global gradient norm; optimizer step at the scheduled rate
        every `eval_every` steps: score the validation split, keep the best checkpoint,
            write the latest checkpoint, stop early after `patience` evaluations without gain

The state carried at the end of the training stream is reset (a new epoch starts the streams
again). Checkpoints (`checkpoint.pt` latest, `best.pt` best) hold everything needed to go on
exactly: config, vocabulary, model, optimizer, schedule, step, data position, the carried
state, RNG state and the history, so an interrupted and resumed run ends with the weights of
an uninterrupted one. A non-finite loss stops the run with `DivergedError`; the last good
checkpoint stays. Leaves out: mixed precision, multi-device training, gradient accumulation.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlm.checkpoint import load_checkpoint, save_checkpoint
from seqlm.config import TrainConfig, from_dict, to_dict
from seqlm.data.batching import LMBatches
from seqlm.data.vocab import Vocab
from seqlm.errors import SeqlmError
from seqlm.nn.lm import RecurrentLM, count_parameters, detach_state
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.training.evaluate import evaluate_stream
from seqlm.training.lm_data import TokenStream
from seqlm.training.schedule import LRSchedule
from seqlm.training.threads import torch_threads

LATEST, BEST = "checkpoint.pt", "best.pt"


class DivergedError(SeqlmError):
    """The training loss became NaN or infinite."""


@dataclass
class Position:
    """Where training stands: the step, the place in the data, early-stopping counters."""

    step: int = 0
    epoch: int = 0
    window: int = 0
    best_valid: float = math.inf
    evals_since_best: int = 0
    seconds: float = 0.0  # training time so far (evaluations included), summed over resumes


@dataclass
class TrainResult:
    model: RecurrentLM
    status: str  # finished, time budget, early stop, interrupted
    position: Position
    history: list[dict[str, float]] = field(default_factory=list)  # every log_every steps
    evals: list[dict[str, float]] = field(default_factory=list)
    tokens_per_second: float = 0.0
    parameters: int = 0


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = list({id(p): p for p in model.parameters()}.values())
    lr = config.schedule.lr
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    raise SeqlmError(f"unknown optimizer {config.optimizer!r}: choose adamw or sgd")


def layer_grad_norms(model: torch.nn.Module) -> dict[str, float]:
    """L2 norm of the gradient per part: embedding, each recurrent layer, projection."""
    squares: dict[str, float] = {}
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        part = name.split(".")[0]
        if part == "rnn":
            part = "layer" + name.split("_l")[-1].split("_")[0]
        squares[part] = squares.get(part, 0.0) + float(p.grad.detach().pow(2).sum())
    return {f"grad_norm/{part}": math.sqrt(v) for part, v in squares.items()}


class LMTrainer:
    """Holds one run's model, optimizer, schedule, position and carried state."""

    def __init__(self, config: TrainConfig, vocab: Vocab, train: TokenStream,
                 valid: TokenStream | None, out_dir: Path, data_sha256: str | None = None):
        torch.manual_seed(config.seed)
        self.config, self.vocab, self.valid, self.out_dir = config, vocab, valid, Path(out_dir)
        self.data_sha256 = data_sha256
        self.batches = LMBatches(train.ids, config.batch_size, config.window)
        try:
            self.model = RecurrentLM(len(vocab), config.model)
        except ValueError as e:
            raise SeqlmError(f"bad model config: {e}") from None
        self.optimizer = build_optimizer(self.model, config)
        self.schedule = LRSchedule(config.schedule, config.max_steps,
                                   None if config.max_minutes is None else 60 * config.max_minutes)
        self.position = Position()
        # a loss above this is divergence, not a bad patch: ln V is a uniform guess's loss
        self.loss_limit = config.diverge_factor * math.log(max(len(vocab), 2))
        self.carry: Any = None  # the recurrent state handed from one window to the next
        self.history: list[dict[str, float]] = []
        self.evals: list[dict[str, float]] = []

    # ---- checkpoints -----------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        carry = self.carry if self.carry is None or isinstance(self.carry, tuple) \
            else (self.carry,)
        return {
            "config": to_dict(self.config), "vocab": self.vocab.to_dict(),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(), "step": self.position.step,
            "position": vars(self.position).copy(),
            "data": {"epoch": self.position.epoch, "window": self.position.window,
                     "sha256": self.data_sha256},
            "carry": carry, "rng": {"torch": torch.get_rng_state()},
            "history": self.history, "evals": self.evals,
        }

    def restore(self, ckpt: dict[str, Any], source: str | Path = "the checkpoint") -> None:
        """Continue from a checkpoint written by `payload` (same config and vocabulary); a
        checkpoint whose parts disagree with its own config is a SeqlmError."""
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.schedule.load_state_dict(ckpt["scheduler"])
            self.position = Position(**ckpt["position"])  # seconds: the budget already spent
            carry = ckpt["carry"]
            self.carry = None if carry is None else (tuple(carry) if len(carry) == 2
                                                     else carry[0])
            torch.set_rng_state(ckpt["rng"]["torch"])
            self.history, self.evals = list(ckpt["history"]), list(ckpt["evals"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
            first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
            raise SeqlmError(f"{source} does not match its own config or vocabulary ({first}): "
                             "it was edited or damaged; resume from another checkpoint") from None
        if self.position.step >= self.config.max_steps:
            raise SeqlmError(f"{source} is at step {self.position.step} and --max-steps is "
                             f"{self.config.max_steps}: raise --max-steps to train on")

    def save(self, name: str) -> Path:
        return save_checkpoint(self.out_dir / name, "lm", self.payload())

    # ---- one step --------------------------------------------------------------------------
    def next_window(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position.window >= len(self.batches):  # end of the streams: a new epoch
            self.position.epoch += 1
            self.position.window = 0
            self.carry = None
        x, y = self.batches.window(self.position.window)
        self.position.window += 1
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))

    def diverged(self, loss: float) -> DivergedError:
        """The error for a training loss that is not finite or far above a uniform guess."""
        kept = [name for name in (BEST, LATEST) if (self.out_dir / name).is_file()]
        where = (f"the last good checkpoint is kept in {self.out_dir / kept[0]}" if kept else
                 "no checkpoint had been written yet")
        why = "not finite" if not math.isfinite(loss) else (
            f"above {self.config.diverge_factor:g} x ln V = {self.loss_limit:.2f} nats, "
            "where ln V is a uniform guess")
        return DivergedError(
            f"training loss became {loss:.4g} at step {self.position.step} (diverged: {why}); "
            f"lower the learning rate (--lr) or the clip (--clip); {where}")

    def train_step(self) -> dict[str, float]:
        x, y = self.next_window()
        lr = self.schedule.apply(self.optimizer, self.position.step, self.position.seconds)
        self.model.train()
        _, loss, state = self.model(x, y, detach_state(self.carry))
        if not torch.isfinite(loss):
            self.position.step += 1
            raise self.diverged(loss.item())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        logged = (self.position.step + 1) % self.config.log_every == 0
        layer_norms = layer_grad_norms(self.model) if logged else {}
        clip = self.config.clip if self.config.clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.optimizer.step()
        self.carry = detach_state(state)
        self.position.step += 1
        return {"loss": loss.item(), "grad_norm": float(grad_norm), "lr": lr,
                "tokens": float(y.numel()), **layer_norms}

    # ---- evaluation and the loop -----------------------------------------------------------
    def evaluate(self, progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict[str, float] | None:
        """Score the validation split, record it, write checkpoints; None if there is none
        or if `should_stop()` cut the pass short."""
        if self.valid is None:
            return None
        c = self.config
        metrics = evaluate_stream(self.model, self.valid, c.eval_batch_size, c.window,
                                  c.eval_max_tokens, progress=progress, should_stop=should_stop)
        if metrics is None:
            return None
        metrics = {"step": self.position.step, **metrics}
        self.evals.append(metrics)
        self.schedule.observe(metrics["loss_nats"])
        if metrics["loss_nats"] < self.position.best_valid:
            self.position.best_valid = metrics["loss_nats"]
            self.position.evals_since_best = 0
            self.save(BEST)
        else:
            self.position.evals_since_best += 1
        self.save(LATEST)
        return metrics

    def progress_event(self, entry: dict[str, float]) -> Progress:
        """The bar counts steps, or seconds of the budget when the schedule runs on time."""
        c = self.config
        metrics = {"loss": entry["loss"], "ppl": math.exp(min(entry["loss"], 50)),
                   "tok/s": entry["tokens_per_second"]}
        if c.schedule.horizon == "time":
            return Progress("train", int(self.position.seconds), int(60 * c.max_minutes),
                            unit="s", metrics={"step": entry["step"], **metrics})
        return Progress("train", int(entry["step"]), c.max_steps, unit="step", metrics=metrics)

    def run(self, progress: ProgressCallback | None = None,
            should_stop: Callable[[], bool] | None = None) -> TrainResult:
        """Train until max_steps, max_minutes, early stopping or `should_stop()`, on
        `config.threads` torch threads (restored afterwards)."""
        with torch_threads(self.config.threads or None):
            return self.loop(progress, should_stop)

    def loop(self, progress: ProgressCallback | None,
             should_stop: Callable[[], bool] | None) -> TrainResult:
        c = self.config
        started, spent_before = time.perf_counter(), self.position.seconds
        tokens, train_seconds, status = 0.0, 0.0, "finished"
        window: dict[str, float] = {"tokens": 0.0, "seconds": 0.0}
        window_loss: list[float] = []
        while self.position.step < c.max_steps:
            self.position.seconds = spent_before + time.perf_counter() - started
            step_start = time.perf_counter()
            row = self.train_step()
            spent = time.perf_counter() - step_start  # training time only, never evaluation
            tokens, train_seconds = tokens + row["tokens"], train_seconds + spent
            window["tokens"] += row["tokens"]
            window["seconds"] += spent
            window_loss.append(row["loss"])
            step = self.position.step
            if step % c.log_every == 0 or step == c.max_steps:
                self.log(row, window_loss, window, progress)
                if self.history[-1]["loss"] > self.loss_limit:
                    raise self.diverged(self.history[-1]["loss"])
                window_loss, window = [], {"tokens": 0.0, "seconds": 0.0}
            if step % c.eval_every == 0 and step < c.max_steps:
                self.evaluate(progress, should_stop)
                if c.patience is not None and self.position.evals_since_best >= c.patience:
                    status = "early stop"
                    break
            self.position.seconds = spent_before + time.perf_counter() - started
            if c.max_minutes is not None and self.position.seconds >= 60 * c.max_minutes:
                status = "time budget"
                break
            if should_stop is not None and should_stop():
                status = "interrupted"
                break
        if status not in ("interrupted", "early stop") and self.evaluate(
                progress, should_stop) is None and should_stop is not None and should_stop():
            status = "interrupted"
        if status == "interrupted" or self.valid is None:  # keep where training stands
            self.save(LATEST)
        return TrainResult(self.model, status, self.position, self.history, self.evals,
                           tokens / train_seconds if train_seconds else 0.0,
                           count_parameters(self.model))

    def log(self, row: dict[str, float], window_loss: list[float], window: dict[str, float],
            progress: ProgressCallback | None) -> None:
        """A history entry for the last `log_every` steps, and a progress event."""
        entry = {"step": self.position.step, "loss": float(np.mean(window_loss)),
                 "grad_norm": row["grad_norm"], "lr": row["lr"],
                 "tokens_per_second": window["tokens"] / window["seconds"]
                 if window["seconds"] else 0.0,
                 **{k: v for k, v in row.items() if k.startswith("grad_norm/")}}
        self.history.append(entry)
        report(progress, self.progress_event(entry))


@dataclass
class LoadedLM:
    model: RecurrentLM
    vocab: Vocab
    config: TrainConfig
    checkpoint: dict[str, Any]


REQUIRED = ("config", "vocab", "model")


def load_lm(path: str | Path) -> LoadedLM:
    """Rebuild a trained model from a checkpoint (or a run directory holding best.pt), on CPU,
    in eval mode."""
    path = Path(path)
    if path.is_dir():
        path = path / BEST if (path / BEST).is_file() else path / LATEST
    ckpt = load_checkpoint(path, "lm", required=REQUIRED)
    config = from_dict(TrainConfig, ckpt["config"])
    vocab = Vocab.from_dict(ckpt["vocab"])
    model = RecurrentLM(len(vocab), config.model)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise SeqlmError(f"checkpoint {path} does not match its own config "
                         f"({str(e).splitlines()[0]}): the file was edited; train again") from None
    model.eval()
    return LoadedLM(model, vocab, config, ckpt)

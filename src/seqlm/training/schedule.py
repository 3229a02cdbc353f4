"""Learning-rate schedules: linear warm-up, then cosine, plateau or constant.

    warm-up   lr(s) = lr * (s + 1) / warmup                        for s < warmup
    cosine    lr(s) = lr * (m + (1 - m) * (1 + cos(pi * p)) / 2)   p = (s - warmup) / (total -
              warmup), m = min_lr_ratio (Loshchilov & Hutter 2017, without restarts)
    plateau   lr(s) = lr * scale; scale *= factor after `patience` evaluations without a new
              best validation loss, never below min_lr_ratio
    constant  lr(s) = lr

With horizon "time" the cosine's progress is measured in training seconds instead of steps,
p = (t - t_w) / (budget - t_w), t_w the seconds spent when warm-up ended: the decay then ends
exactly when the time budget does, however fast the machine is, instead of being cut off
half-way (a step horizon guessed too long) or finishing early and idling (too short).

The schedule is a pure function of the step (and, for horizon "time", the training seconds)
plus a small state (`state_dict`: plateau's factor, t_w) that goes into checkpoints, so a
resumed run sets exactly the rates of an uninterrupted one; a time horizon makes the rates
depend on the machine's speed, so such a run is reproducible only through its checkpoints.
Shared by the language-model and seq2seq trainers. Leaves out: restarts, cyclic rates.
"""

import math

from torch.optim import Optimizer

from seqlm.config import ScheduleConfig
from seqlm.errors import SeqlmError


class LRSchedule:
    """Sets the optimizer's learning rate before each step; `observe` feeds plateau decay."""

    def __init__(self, config: ScheduleConfig, total_steps: int,
                 total_seconds: float | None = None):
        # decay, horizon, lr and warm-up are ScheduleConfig's to check (on construction)
        if config.horizon == "time" and not total_seconds:
            raise SeqlmError("schedule horizon 'time' needs a time budget: set --max-minutes "
                             "(or use --horizon steps)")
        self.config = config
        self.total_steps = max(total_steps, 1)
        self.total_seconds = total_seconds
        self.warmup_seconds: float | None = None  # t_w, set by `apply` when warm-up ends
        self.scale = 1.0  # plateau's running factor
        self.best = math.inf
        self.bad_evals = 0

    def progress(self, step: int, seconds: float) -> float:
        """How far through the decay (0..1) step `step` is, `seconds` into training."""
        c = self.config
        if c.horizon == "steps":
            span = max(self.total_steps - c.warmup_steps, 1)
            return min((step - c.warmup_steps) / span, 1.0)
        start = seconds if self.warmup_seconds is None else self.warmup_seconds
        span = max(self.total_seconds - start, 1e-9)
        return min(max(seconds - start, 0.0) / span, 1.0)

    def lr(self, step: int, seconds: float = 0.0) -> float:
        """The learning rate for step `step` (0-based), `seconds` of training in."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.decay == "cosine":
            progress = self.progress(step, seconds)
            cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
            return c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosine)
        if c.decay == "plateau":
            return c.lr * self.scale
        return c.lr

    def apply(self, optimizer: Optimizer, step: int, seconds: float = 0.0) -> float:
        """Set the rate for step `step`; the first step after warm-up records t_w."""
        if self.warmup_seconds is None and step >= self.config.warmup_steps:
            self.warmup_seconds = seconds
        lr = self.lr(step, seconds)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def observe(self, valid_loss: float) -> None:
        """Record an evaluation; plateau decay shrinks the rate after `patience` misses."""
        if valid_loss < self.best:
            self.best, self.bad_evals = valid_loss, 0
            return
        self.bad_evals += 1
        c = self.config
        if c.decay == "plateau" and self.bad_evals >= c.plateau_patience:
            self.scale = max(self.scale * c.plateau_factor, c.min_lr_ratio)
            self.bad_evals = 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals,
                "warmup_seconds": self.warmup_seconds}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best, self.bad_evals = state["scale"], state["best"], state["bad_evals"]
        self.warmup_seconds = state.get("warmup_seconds")

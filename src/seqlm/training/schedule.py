"""Learning-rate schedules: linear warm-up, then cosine, plateau or constant.

    warm-up   lr(s) = lr * (s + 1) / warmup                        for s < warmup
    cosine    lr(s) = lr * (m + (1 - m) * (1 + cos(pi * p)) / 2)   p = (s - warmup) / (total -
              warmup), m = min_lr_ratio (Loshchilov & Hutter 2017, without restarts)
    plateau   lr(s) = lr * scale; scale *= factor after `patience` evaluations without a new
              best validation loss, never below min_lr_ratio
    constant  lr(s) = lr

The schedule is a pure function of the step plus, for plateau, a small state (`state_dict`)
that goes into checkpoints, so a resumed run sets exactly the rates of an uninterrupted one.
Shared by the language-model and seq2seq trainers. Leaves out: restarts, cyclic rates.
"""

import math

from torch.optim import Optimizer

from seqlm.config import ScheduleConfig
from seqlm.errors import SeqlmError

DECAYS = ("cosine", "plateau", "constant")


class LRSchedule:
    """Sets the optimizer's learning rate before each step; `observe` feeds plateau decay."""

    def __init__(self, config: ScheduleConfig, total_steps: int):
        if config.decay not in DECAYS:
            raise SeqlmError(f"unknown learning-rate decay {config.decay!r}: choose one of "
                             f"{', '.join(DECAYS)}")
        if config.lr <= 0 or config.warmup_steps < 0:
            raise SeqlmError(f"learning rate must be positive and warm-up non-negative, got "
                             f"lr={config.lr}, warmup_steps={config.warmup_steps}")
        self.config = config
        self.total_steps = max(total_steps, 1)
        self.scale = 1.0  # plateau's running factor
        self.best = math.inf
        self.bad_evals = 0

    def lr(self, step: int) -> float:
        """The learning rate for step `step` (0-based)."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.decay == "cosine":
            span = max(self.total_steps - c.warmup_steps, 1)
            progress = min((step - c.warmup_steps) / span, 1.0)
            cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
            return c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosine)
        if c.decay == "plateau":
            return c.lr * self.scale
        return c.lr

    def apply(self, optimizer: Optimizer, step: int) -> float:
        lr = self.lr(step)
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
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best, self.bad_evals = state["scale"], state["best"], state["bad_evals"]

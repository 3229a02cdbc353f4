"""Training and evaluation with truncated backpropagation through time (Williams & Peng 1990;
the word_language_model recipe), for the NumPy reference LM.

The token stream is cut into B contiguous rows and read in windows of T (`LMBatches`, whose
docstring draws the layout). Each window backpropagates through its own T steps only; the
final state is carried into the next window as plain numbers, so its value flows on while
the gradient is cut at the window's start. At the start of each pass over the data the
state is reset to zeros. Every update: clip (by global norm, then by value, if set), step.
The rate is constant or decays linearly over the step budget. Leaves out: early stopping,
checkpoints during training.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from seqlm.config import ReferenceTrainConfig
from seqlm.data.batching import LMBatches
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.reference.clipping import clip_global_norm, clip_value, global_norm
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.optim import make_optimizer


@dataclass
class TrainResult:
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # training NLL (nats) per update
    grad_norms: list[float] = field(default_factory=list)  # before clipping

    def recent_loss(self, last: int = 20) -> float:
        """Mean training loss over the last `last` updates."""
        return float(np.mean(self.losses[-last:])) if self.losses else float("nan")


def check_budget(config: ReferenceTrainConfig) -> None:
    if config.steps is None and config.seconds is None:
        raise SeqlmError("training needs a budget: set steps or seconds")
    if (config.steps is not None and config.steps < 0) or (
            config.seconds is not None and config.seconds < 0):
        raise SeqlmError("steps and seconds must not be negative")


def train(model: ReferenceLM, ids: np.ndarray, config: ReferenceTrainConfig,
          progress: ProgressCallback | None = None, task: str = "train") -> TrainResult:
    """Train `model` in place on the token ids (N,) until `config.steps` or `config.seconds`."""
    check_budget(config)
    batches = LMBatches(ids, config.batch_size, config.window)
    optimizer = make_optimizer(config.optimizer, config.lr)
    params = model.params()
    result, start = TrainResult(), time.perf_counter()
    state = model.zero_state(config.batch_size)
    while not out_of_budget(result, config):
        for i, (x, y) in enumerate(batches):
            if i == 0:
                state = model.zero_state(config.batch_size)  # a new pass: streams start over
            loss, grads, state = model.loss_and_grads(x, y, state)  # state: values, no graph
            result.grad_norms.append(clip(grads, config))
            optimizer.lr = learning_rate(config, result.steps)
            optimizer.step(params, grads)
            result.losses.append(loss)
            result.steps += 1
            result.tokens += x.size
            result.seconds = time.perf_counter() - start
            if result.steps % 10 == 0:
                report(progress, Progress(task, result.steps, config.steps, unit="step",
                                          metrics={"loss": result.recent_loss(10)}))
            if out_of_budget(result, config):
                break
    report(progress, Progress(task, result.steps, result.steps, unit="step"))
    return result


def learning_rate(config: ReferenceTrainConfig, step: int) -> float:
    """The rate of update `step` (0-based): constant, or falling linearly to
    lr * min_lr_ratio at the last step of the step budget."""
    if config.decay == "constant" or not config.steps:
        return config.lr
    fraction = min(step / max(config.steps - 1, 1), 1.0)
    return config.lr * (1.0 - (1.0 - config.min_lr_ratio) * fraction)


def out_of_budget(result: TrainResult, config: ReferenceTrainConfig) -> bool:
    return ((config.steps is not None and result.steps >= config.steps)
            or (config.seconds is not None and result.seconds >= config.seconds))


def clip(grads: dict[str, np.ndarray], config: ReferenceTrainConfig) -> float:
    """Clip in place as configured; return the global norm before clipping."""
    norm = (clip_global_norm(grads, config.clip_norm) if config.clip_norm is not None
            else global_norm(grads))
    if config.clip_value is not None:
        clip_value(grads, config.clip_value)
    return norm


def evaluate(model: ReferenceLM, ids: np.ndarray, batch_size: int, window: int,
             split: str = "valid") -> float:
    """Mean NLL in nats per predicted token over `ids`, state carried across windows."""
    batches = LMBatches(ids, batch_size, window, split)
    state, total, count = model.zero_state(batch_size), 0.0, 0
    for x, y in batches:
        _, loss, state = model.forward(x, y, state)
        total += loss * y.size
        count += y.size
    return total / count

"""The training loop every torch model shares (`seqlm.training.engine`): optimiser and
learning-rate schedule, budgets, evaluation cadence, device and precision."""

import re
from dataclasses import dataclass

from seqlm.config.fields import Config, opt
from seqlm.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICE_SPEC = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"


@dataclass(frozen=True)
class ScheduleConfig(Config):
    """Learning rate: linear warm-up, then cosine decay, plateau decay or constant."""

    lr: float = opt(2e-3, gt=0.0)
    warmup_steps: int = opt(100, ge=0)
    decay: str = opt("cosine", choices=("cosine", "plateau", "constant"))
    min_lr_ratio: float = opt(0.1, ge=0.0, le=1.0, help="cosine ends at lr * min_lr_ratio; "
                              "plateau never goes below it")
    horizon: str = opt("steps", choices=("steps", "time"), help="cosine spans max_steps or the "
                       "time")
    plateau_factor: float = opt(0.5, gt=0.0, le=1.0, help="plateau: multiply the lr by this ...")
    plateau_patience: int = opt(1, ge=1, help="... after this many evaluations without gain")


@dataclass(frozen=True)
class EngineConfig(Config):
    """How any seqlm model is trained: the part of a training config that is not about the
    data or the model."""

    optimizer: str = opt("adamw", choices=("adamw", "adam", "sgd"))
    schedule: ScheduleConfig = opt(factory=ScheduleConfig)
    weight_decay: float = opt(0.0, ge=0.0)
    momentum: float = opt(0.0, ge=0.0, lt=1.0, help="sgd only")
    clip: float = opt(1.0, ge=0.0, help="global gradient-norm clip; 0 disables")
    max_steps: int = opt(2000, ge=1, help="optimiser updates; the cosine's horizon ('steps')")
    max_minutes: float | None = opt(None, gt=0.0, help="training-time budget, summed over resumes")
    accumulate: int = opt(1, ge=1, help="micro-batches per update: the update of an N-times batch")
    eval_every: int = opt(200, ge=1, help="updates between validation passes")
    patience: int | None = opt(None, ge=1, help="early stopping: evaluations without improvement")
    log_every: int = opt(10, ge=1, help="updates between history entries (loss, grad norm, lr)")
    threads: int | None = opt(None, ge=1, help="torch CPU threads; None = torch's default")
    device: str = opt("auto", help=DEVICE_HELP)
    precision: str = opt("auto", choices=PRECISIONS, help="auto: bf16 on a CUDA GPU that has it "
                         "(else fp16 with loss scaling), fp32 elsewhere")
    diverge_factor: float = opt(4.0, gt=1.0, help="divergence: a training loss above this many "
                                                  "times ln V (a uniform guess over the "
                                                  "vocabulary; an untrained model scores about "
                                                  "1x) stops the run")
    distributed_timeout: float = opt(300.0, gt=0.0, help="several processes (torchrun): "
                                     "seconds a process waits for the others in one "
                                     "collective step before the job stops with an error; a "
                                     "killed process is noticed at once, a hung one after "
                                     "this long")

    def check(self) -> None:
        if DEVICE_SPEC.fullmatch(self.device) is None:
            raise ConfigError("device", self.device, "is not a device: choose auto, cpu, cuda, "
                              "cuda:N or mps")
        if self.schedule.horizon == "time" and self.max_minutes is None:
            raise ConfigError("horizon", "time", "needs a time budget: set --max-minutes "
                              "(max_minutes in a config file), or use --horizon steps")

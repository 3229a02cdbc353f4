"""`seqlm lab`: which steps, how big, where."""

from dataclasses import dataclass

from seqlm.config.fields import Config


@dataclass(frozen=True)
class LabConfig(Config):
    """`seqlm lab`: every experiment built so far, into one run directory with a report."""

    quick: bool = False  # `--quick` finishes in under a minute on 2 cores
    seed: int = 0
    out: str | None = None  # None = runs/lab-<timestamp>
    overwrite: bool = False
    data_dir: str | None = None
    steps: tuple[str, ...] = ()  # empty = every registered step
    device: str = "auto"  # where the torch models train (as EngineConfig.device)

"""`seqlm lab`: which steps, how big, where."""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt


@dataclass(frozen=True)
class LabConfig(Config):
    """`seqlm lab`: every experiment built so far, into one run directory with a report."""

    quick: bool = opt(False, help="`--quick` finishes in under a minute on 2 cores")
    seed: int = 0
    out: str | None = opt(None, help="None = runs/lab-<timestamp>")
    overwrite: bool = False
    data_dir: str | None = None
    steps: tuple[str, ...] = opt((), help="empty = every registered step")
    device: str = opt("auto", help="where the torch models train (as EngineConfig.device)")

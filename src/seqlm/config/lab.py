"""`seqlm lab`: which steps, how big, where."""

from dataclasses import dataclass

from seqlm.config.engine import DEVICE_HELP
from seqlm.config.fields import Config, opt


@dataclass(frozen=True)
class LabConfig(Config):
    """`seqlm lab`: every experiment built so far, into one run directory with a report."""

    quick: bool = opt(False, help="tiny budgets: the whole lab in about a minute on 2 cores")
    seed: int = opt(0, help="every experiment's seed")
    out: str | None = opt(None, help="None = runs/lab-<timestamp>")
    overwrite: bool = False
    data_dir: str | None = opt(None, help="folder holding tinyshakespeare.txt (None: "
                               "$SEQLM_DATA_DIR)")
    steps: tuple[str, ...] = opt((), help="empty = every registered step")
    device: str = opt("auto", help="where the torch models train: " + DEVICE_HELP)

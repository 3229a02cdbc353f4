"""Progress reporting without printing: library code calls a callback, the CLI draws bars.

Long work (downloads, training, counting) reports `Progress` events to an optional
`ProgressCallback`. The library never prints or imports a progress-bar package; the CLI's
`seqlm.cli.bars` turns events into tqdm bars. Leaves out: logging levels, nesting.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    """One report from long work: `done` of `total` units of `task`, with live metrics."""

    task: str
    done: int
    total: int | None = None
    unit: str = "it"
    metrics: dict[str, float] = field(default_factory=dict)
    message: str | None = None


ProgressCallback = Callable[[Progress], None]


def report(callback: ProgressCallback | None, event: Progress) -> None:
    """Send `event` to `callback` if there is one."""
    if callback is not None:
        callback(event)

"""Progress bars for the terminal: turns the library's `Progress` events into tqdm bars,
one per task, on stderr. Silent when `enabled` is False (`--json`, `--quiet`)."""

import sys

from seqlm.progress import Progress


class Bars:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr is not None
        self.bars: dict = {}  # task -> tqdm bar

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(event.task)
        if bar is None:
            from tqdm import tqdm  # imported on first use: keeps `seqlm ngram` start-up lean

            bar = tqdm(total=event.total, desc=event.task, unit=event.unit, leave=False,
                       unit_scale=event.unit == "B", dynamic_ncols=True, file=sys.stderr)
            self.bars[event.task] = bar
        if event.total is not None and bar.total != event.total:
            bar.total = event.total
        bar.update(event.done - bar.n)
        postfix = {k: f"{v:.4g}" for k, v in event.metrics.items()}
        if event.message:
            postfix["at"] = event.message
        if postfix:
            bar.set_postfix(postfix, refresh=False)
        if event.total is not None and event.done >= event.total:
            bar.close()
            del self.bars[event.task]

    def __enter__(self) -> "Bars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()

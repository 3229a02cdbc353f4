"""Progress bars for the terminal: turns the library's `Progress` events into tqdm bars,
one per task, on stderr. Silent when `enabled` is False (`--json`, `--quiet`)."""

import sys
import time

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


BAR_DELAY_S = 0.5  # a job shorter than this draws no bar

class DelayedBars:
    """Progress bars that start only once the job has run `delay` seconds."""

    def __init__(self, args, delay: float = BAR_DELAY_S):
        self.bars = Bars(enabled=not (args.json or args.quiet))
        self.start, self.delay = time.perf_counter(), delay

    def __call__(self, event) -> None:
        if time.perf_counter() - self.start >= self.delay:
            self.bars(event)

    def close(self) -> None:
        self.bars.close()

"""Stopping: SIGINT (Ctrl-C) and SIGTERM (what `timeout`, schedulers and container runtimes
send) end every command the same way, at a safe point, with the manifest written, the
checkpoint kept, and locks and temporary files removed.

`handling_signals()` wraps every command (`seqlm.cli.main`): both signals raise an
interrupt (`Terminated` for SIGTERM, a `KeyboardInterrupt`), which the run directories, spill
folders and atomic writes already clean up after; the handlers are installed even where the
parent ignored SIGINT (a command started with `&` from a script), so `kill -INT` always
stops seqlm. `GracefulStop` is for commands that can stop between steps (training, the lab):
the first signal only asks (`asked()`), a second one interrupts at once. The exit code is
128 + the signal's number: 130 for SIGINT, 143 for SIGTERM. Leaves out: SIGHUP and SIGQUIT
(their default actions stand).
"""

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where a Ctrl-C would be, so everything that cleans up after an
    interrupt cleans up after it too."""

    def __init__(self) -> None:
        super().__init__("stopped by SIGTERM")


def interrupt(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def exit_code(signum: int) -> int:
    return 128 + int(signum)


def signal_of(error: KeyboardInterrupt) -> int:
    return signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT


def raise_interrupt(signum: int, _frame) -> None:
    raise interrupt(signum)


@contextmanager
def installed(handler: Callable) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM inside the block, the previous handlers after it (in
    a thread other than the main one, where Python allows no handlers, nothing changes)."""
    try:
        previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def handling_signals() -> AbstractContextManager[None]:
    """Both signals interrupt the command (see the module docstring)."""
    return installed(raise_interrupt)


class GracefulStop:
    """`with GracefulStop(on_ask) as stop:` ... `stop.asked()`: the first SIGINT or SIGTERM
    sets `signum` and calls `on_ask(signum)` (the CLI says what will happen); a second one
    interrupts at once."""

    def __init__(self, on_ask: Callable[[int], None] | None = None):
        self.signum: int | None = None
        self.on_ask = on_ask
        self.block = installed(self.handle)

    def handle(self, signum: int, _frame) -> None:
        if self.signum is not None:
            raise interrupt(signum)
        self.signum = signum
        if self.on_ask is not None:
            self.on_ask(signum)

    def asked(self) -> bool:
        return self.signum is not None

    def exit_code(self, interrupted: bool) -> int:
        """130 or 143 when the run stopped because it was asked to, else 0."""
        if not interrupted:
            return 0
        return exit_code(self.signum if self.signum is not None else signal.SIGINT)

    def __enter__(self) -> "GracefulStop":
        self.block.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.block.__exit__(*exc)


def say_stopping(signum: int) -> None:
    """What the first signal does to a training command, on stderr."""
    import sys

    name = signal.Signals(signum).name
    print(f"\nseqlm: {name}: stopping at the next step, with the checkpoint and manifest "
          f"written; send {name} again to stop at once", file=sys.stderr, flush=True)

"""One process per run directory: a lock file beside it, with the holder's pid.

Two runs writing to the same `--out` at once would clobber each other's checkpoints and
manifest. Before a run touches its directory it creates `.<name>.seqlm-lock` beside it (an
exclusive create, atomic on POSIX) holding the pid, host, command and start time; a second
run finds it and stops with a message naming the first. A lock whose process is gone (killed,
machine restarted) is stale: it is replaced, not obeyed. Leaves out: locks shared across
machines (a lock from another host is obeyed until removed by hand).
"""

import datetime as dt
import json
import os
import socket
from pathlib import Path

from seqlm.errors import SeqlmError


def lock_path(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}.seqlm-lock"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def holder(path: Path) -> dict | None:
    """The lock's record, or None if it is stale (its process is gone) or unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    if record.get("host") == socket.gethostname() and not process_alive(record["pid"]):
        return None
    return record


class RunLock:
    """`with RunLock(run_dir, command):` holds the lock; or `acquire()` / `release()`."""

    def __init__(self, run_dir: Path, command: str):
        self.run_dir = Path(run_dir)
        self.path = lock_path(self.run_dir)
        self.command = command
        self.held = False

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                  "started": dt.datetime.now().isoformat(timespec="seconds")}
        for _ in range(2):  # a second try after removing a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = holder(self.path)
                if other is not None:
                    raise SeqlmError(
                        f"run directory {self.run_dir} is in use by "
                        f"`seqlm {other.get('command')}` (pid {other['pid']} on "
                        f"{other.get('host')}, started {other.get('started')}): wait for it to "
                        f"finish or choose another --out; if no such process runs, remove "
                        f"{self.path}") from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
            self.held = True
            return self
        raise SeqlmError(f"could not take the lock {self.path}: another run keeps taking it; "
                         "try again")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

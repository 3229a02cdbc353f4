"""Columns: one array, held in memory or spilled to a file, read back in blocks.

Bounded-memory estimation keeps every array the length of the token stream or of an order's
n-grams as a `Column`. With no memory budget (or a corpus that fits it) a column is an ndarray
and reading a block is a view: the in-memory path runs the same code with one block. Under a
budget that the corpus does not fit, a `Workspace` writes columns to files in a private folder
under `--temp-dir` (`seqlm-ngram-PID-XXXX`), appending block by block, and reads them back with
`np.fromfile` (a private buffer per block, so the file's pages never count as the process's
memory). The folder is removed when the workspace closes, on success, failure or
`KeyboardInterrupt` (a context manager); the folder of a process killed outright
(its PID gone) is removed by the next workspace that spills there. A temp dir that is
read-only or full raises a one-line `SeqlmError` that names the fix.
Writes to spill files go through one writer thread per workspace (`Writes`), which overlaps
the disk with the computing; reading back stays synchronous.
Leaves out: compression of spill files (KenLM's are plain too) and read-ahead.
"""

import errno
import os
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.budget import MemoryBudget, format_bytes

WRITE_QUEUE_MAX = 64 * 2**20  # bytes waiting for the spill writer thread, at most


class Column:
    """(n,) values of one dtype, in memory (`array`) or in a spill file (`path`)."""

    def __init__(self, array: np.ndarray | None = None, path: Path | None = None,
                 dtype=None, length: int = 0):
        self.memory = array
        self.path = path
        self.dtype = np.dtype(array.dtype if array is not None else dtype)
        self.length = len(array) if array is not None else length

    def __len__(self) -> int:
        return self.length

    @property
    def spilled(self) -> bool:
        return self.memory is None

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi): a view in memory, a fresh array from the file."""
        hi = min(hi, self.length)
        if self.memory is not None:
            return self.memory[lo:hi]
        if hi <= lo:
            return np.zeros(0, dtype=self.dtype)
        return np.fromfile(self.path, dtype=self.dtype, count=hi - lo,
                           offset=lo * self.dtype.itemsize)

    def array(self) -> np.ndarray:
        """Every row at once (only where the caller knows they fit)."""
        return self.memory if self.memory is not None else self.read(0, self.length)

    def blocks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """(lo, rows [lo, lo + rows)) in order; one block for a column in memory."""
        rows = self.length if self.memory is not None else max(1, rows)
        for lo in range(0, self.length, max(rows, 1)):
            yield lo, self.read(lo, lo + rows)

    def drop(self) -> None:
        """Delete a spilled column's file once nothing reads it again (its pages, perhaps
        never written back yet, need not reach the disk); a column in memory is left alone."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def searchsorted(self, value: int) -> int:
        """np.searchsorted on a sorted column (a file: a memory map touching ~log2(n) pages)."""
        if self.memory is not None:
            return int(np.searchsorted(self.memory, value))
        if self.length == 0:
            return 0
        mapped = np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.length,))
        found = int(np.searchsorted(mapped, value))
        del mapped
        return found


def in_memory(array: np.ndarray) -> Column:
    return Column(array=np.asarray(array))


class ColumnWriter:
    """Appends blocks; `finish()` gives the column. In memory unless given a file."""

    def __init__(self, dtype, path: Path | None, workspace: "Workspace | None" = None):
        self.dtype = np.dtype(dtype)
        self.path = path
        self.workspace = workspace
        self.parts: list[np.ndarray] = []
        self.length = 0
        self.file = open(path, "wb") if path is not None else None  # noqa: SIM115

    def append(self, values: np.ndarray) -> None:
        """Add rows; the caller hands `values` over (it must not change them afterwards: in
        memory they are kept, in a file written by the workspace's writer thread)."""
        values = np.asarray(values, dtype=self.dtype)
        self.length += len(values)
        if self.file is None:
            self.parts.append(values)
            return
        self.workspace.writes.submit(self.file, np.ascontiguousarray(values))

    def finish(self) -> Column:
        if self.file is None:
            data = self.parts[0] if len(self.parts) == 1 else (
                np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=self.dtype))
            self.parts = []
            return Column(array=data)
        self.workspace.writes.wait(self.file)
        try:
            self.file.close()
        except OSError as e:
            raise self.workspace.disk_error(e) from None
        self.workspace.spilled_bytes += self.length * self.dtype.itemsize
        return Column(path=self.path, dtype=self.dtype, length=self.length)


class Writes:
    """Spill writes in a thread of their own, so that the disk works while the caller
    computes (a write releases the GIL; measured here, 430 MB/s into a spill file, the
    largest cost of a 100M-token build). At most `limit` bytes wait at once; a write that
    failed raises its `SeqlmError` at the next submit or wait."""

    def __init__(self, workspace: "Workspace", limit: int):
        self.workspace, self.limit = workspace, limit
        from concurrent.futures import ThreadPoolExecutor  # here: only a spilling run pays it

        self.pool = ThreadPoolExecutor(1, thread_name_prefix="seqlm-spill")
        self.pending: deque = deque()  # (file, future, bytes), oldest first
        self.bytes = 0

    def submit(self, file, values: np.ndarray) -> None:
        while self.pending and self.bytes + values.nbytes > self.limit:
            self.retire()
        self.pending.append((file, self.pool.submit(file.write, values.data), values.nbytes))
        self.bytes += values.nbytes

    def retire(self) -> None:
        file, future, nbytes = self.pending.popleft()
        self.bytes -= nbytes
        try:
            future.result()
        except OSError as e:
            file.close()
            raise self.workspace.disk_error(e) from None

    def wait(self, file) -> None:
        """Every write to `file` done (and every one submitted before them)."""
        while any(f is file for f, _, _ in self.pending):
            self.retire()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()


STALE = re.compile(r"seqlm-ngram-(\d+)-\w+")


def remove_stale_folders(parent: Path) -> None:
    """Delete the spill folders under `parent` whose process is gone (a SIGKILL, an OOM kill:
    the only ends that skip `Workspace.close`)."""
    for other in parent.iterdir():
        m = STALE.fullmatch(other.name)
        if m is None or int(m.group(1)) == os.getpid() or not other.is_dir():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(other, ignore_errors=True)
        except (PermissionError, OverflowError):
            pass


class Workspace:
    """Where columns live: memory, or files in a private folder under `temp_dir`.

    Use as a context manager; the folder and every spill file go when it closes."""

    def __init__(self, budget: MemoryBudget, temp_dir: str | Path | None = None):
        self.budget = budget
        self.temp_dir = Path(temp_dir) if temp_dir is not None else None
        self.folder: Path | None = None
        self.spilling = False  # set once, when the data is known not to fit
        self.spilled_bytes = 0
        self.files = 0
        self._writes: Writes | None = None

    @property
    def writes(self) -> Writes:
        """The writer thread, started with the first spilled write (1/16 of the budget may
        wait to be written, at most 64 MiB)."""
        if self._writes is None:
            limit = min(WRITE_QUEUE_MAX, (self.budget.limit or WRITE_QUEUE_MAX) // 16)
            self._writes = Writes(self, limit)
        return self._writes

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        writes, self._writes = self._writes, None
        if writes is not None:
            writes.close()
        folder, self.folder = self.folder, None
        if folder is None:
            return
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:  # a signal's KeyboardInterrupt cut the removal short: finish it, then go on
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def spill(self) -> None:
        """From now on, new columns go to files (the corpus does not fit the budget)."""
        if self.folder is None:
            parent = self.temp_dir or Path(tempfile.gettempdir())
            try:
                parent.mkdir(parents=True, exist_ok=True)
                remove_stale_folders(parent)
                self.make_folder(parent)
            except OSError as e:
                raise self.disk_error(e, parent) from None
        self.spilling = True

    def make_folder(self, parent: Path) -> None:
        """A new private folder under `parent`, named before it exists: a signal that
        arrives at any point from here on finds it in `self.folder`, so `close` removes it
        (`tempfile.mkdtemp` would create it before handing its name back)."""
        while True:
            self.folder = parent / f"seqlm-ngram-{os.getpid()}-{os.urandom(6).hex()}"
            try:
                self.folder.mkdir(mode=0o700)
                return
            except FileExistsError:  # another name then
                continue

    def writer(self, dtype, name: str, spill: bool | None = None) -> ColumnWriter:
        """A writer to a file if the workspace spills (or `spill` says so), else to memory."""
        if spill if spill is not None else self.spilling:
            if self.folder is None:
                self.spill()
            self.files += 1
            return ColumnWriter(dtype, self.folder / f"{self.files:05d}-{name}.bin", self)
        return ColumnWriter(dtype, None)

    def column(self, values: np.ndarray, name: str) -> Column:
        """`values` as a column where the workspace keeps them."""
        w = self.writer(values.dtype, name)
        w.append(values)
        return w.finish()

    def disk_error(self, error: OSError, where: Path | None = None) -> SeqlmError:
        where = where or self.folder or self.temp_dir
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            used = format_bytes(self.spilled_bytes)
            problem = f"is full after {used} of spill files"
            fix = "pass --temp-dir a folder with more free space"
        elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            problem, fix = "is not writable", "pass --temp-dir a writable folder"
        elif error.errno in (errno.EEXIST, errno.ENOTDIR):
            problem, fix = "is not a folder", "pass --temp-dir a folder"
        else:
            problem, fix = f"cannot hold spill files ({error.strerror})", "pass another --temp-dir"
        self.close()
        return SeqlmError(f"temp dir {where} {problem}: {fix}, or a larger --memory so that "
                          "less is spilled")

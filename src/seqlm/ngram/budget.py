"""Memory budgets in KenLM's `-S` units, and how many rows a step may hold at once.

`parse_memory("500M")` reads a size the way `lmplz -S` does: a number and one suffix, `b`
(bytes), `K` (the default when there is none), `M`, `G`, `T` (powers of 1024), or `%` of the
physical memory. `MemoryBudget(bytes)` then sizes every chunk and block of bounded-memory
estimation (`seqlm.ngram.counting`, `seqlm.ngram.estimate`, `seqlm.ngram.arpa`): a step whose
arrays cost `b` bytes per row holds at most `rows(b)` rows, so the arrays alive at once stay
within the budget. What the budget does not cover, the *stated overhead*: the interpreter and
NumPy (~30 MB), the vocabulary (a Python dict and list, ~150 bytes per word type), and NumPy's
short-lived copies inside a single call (a sort's scratch space, at most one more block).
A budget also bounds the time: counting T tokens makes about T * 480 / budget sorted runs,
and a merge of R runs costs R Python steps per block of each, so a text needs at least
`minimum_bytes(T)` (at most `MAX_RUNS` runs: 530K for the 283K tokens of Tiny Shakespeare's
words, 2.1M for its 1.16M characters); `token_limit` says how many tokens a budget takes
(without one: what fits the physical memory), and reading stops with the minimum named once
a text passes it.
The compiled engine's own code is no stated overhead: Numba and LLVM hold ~110 MiB once its
kernels load (57 MiB `import numba`, 45 MiB the first cached kernel, measured), so a build
on that engine takes the process's whole resident memory once they are loaded (interpreter,
vocabulary, Numba; less the ids it holds in memory) off the data's budget (`less`,
`seqlm.ngram.engine.kernel_overhead`), and an eighth more for the short-lived copies
inside single calls (at most three quarters in all), so that its peak RSS stays about the
budget, as `lmplz -S`'s does.
`peak_rss_bytes` reads the process's high-water mark for the manifest.
Leaves out: KenLM's separate `--vocab_estimate` and per-stage block sizes.
"""

import os
import re
import resource
import sys
from dataclasses import dataclass

from seqlm.errors import SeqlmError

MIN_MEMORY = 64 * 1024  # below this a block holds too few rows to finish in reasonable time
MAX_RUNS = 256  # sorted runs a merge takes in bounded time (one block of each held at once)
COUNT_ROW_BYTES = 240  # per position while counting a chunk: ids, here, keys, unique's copies
COUNT_SHARE = 0.5  # of the budget, for the chunk being counted
TRANSIENT_PART = 8  # 1/8 of the budget, for copies inside one call, on the compiled engine
# (measured at 100M tokens: the peak passes the sampled plateau by 45-100 MiB)
_SUFFIXES = {"b": 0, "K": 1, "k": 1, "M": 2, "G": 3, "T": 4}
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([bKkMGT%]?)\s*")


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def parse_memory(text: str | int) -> int:
    """Bytes of a KenLM `-S` size: `500M`, `2G`, `80%`, `1024` (KiB), `4096b`."""
    if isinstance(text, int):
        return text
    m = _SIZE.fullmatch(str(text))
    if m is None:
        raise SeqlmError(f"cannot read the memory size {text!r}: write a number with one of the "
                         "suffixes b, K, M, G, T or %, e.g. --memory 500M (KenLM's -S units)")
    value, suffix = float(m.group(1)), m.group(2) or "K"
    if suffix == "%":
        return int(value * physical_memory() / 100)
    return int(value * 1024 ** _SUFFIXES[suffix])


def format_bytes(n: int) -> str:
    for unit, scale in (("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if n >= scale:
            return f"{n / scale:.4g}{unit}"
    return f"{n}b"


@dataclass(frozen=True)
class MemoryBudget:
    """`limit` bytes for the arrays of one step; None: no limit (everything in memory)."""

    limit: int | None = None

    @classmethod
    def of(cls, memory: str | int | None) -> "MemoryBudget":
        if memory is None:
            return cls(None)
        limit = parse_memory(memory)
        if limit < MIN_MEMORY:
            raise SeqlmError(f"--memory {memory} is too small to make progress: give at least "
                             f"{format_bytes(MIN_MEMORY)} (e.g. --memory 500M)")
        return cls(limit)

    @property
    def bounded(self) -> bool:
        return self.limit is not None

    def rows(self, bytes_per_row: int, share: float = 1.0) -> int:
        """How many rows of `bytes_per_row` fit in `share` of the budget (at least 64)."""
        if self.limit is None:
            return sys.maxsize
        return max(64, int(self.limit * share) // max(bytes_per_row, 1))

    def less(self, nbytes: int) -> "MemoryBudget":
        """This budget with `nbytes` (memory that the process holds besides the data: the
        compiled engine's own code) and an eighth for the short-lived copies inside single
        calls taken off, keeping at least a quarter of it."""
        if self.limit is None:
            return self
        rest = self.limit - max(nbytes, 0) - self.limit // TRANSIENT_PART
        return MemoryBudget(max(rest, self.limit // 4, MIN_MEMORY))

    def fits(self, nbytes: int) -> bool:
        return self.limit is None or nbytes <= self.limit

    def token_limit(self) -> int:
        """The most tokens this budget counts in at most `MAX_RUNS` runs; without a budget,
        what counting in memory holds in the physical memory (unknown: no limit)."""
        if self.limit is None:
            return physical_memory() // COUNT_ROW_BYTES or sys.maxsize
        return MAX_RUNS * self.rows(COUNT_ROW_BYTES, share=COUNT_SHARE)

    def too_many_tokens(self, tokens: int) -> SeqlmError:
        """The error for a text of about `tokens` tokens, past `token_limit`."""
        if self.limit is None:
            return SeqlmError(f"the training text has about {tokens:,} tokens, more than counting "
                              f"in memory holds ({COUNT_ROW_BYTES} bytes each, "
                              f"{format_bytes(physical_memory())} of RAM): give --memory 50% so "
                              "that counts spill to disk")
        return SeqlmError(f"--memory {format_bytes(self.limit)} is too small for a text of about "
                          f"{tokens:,} tokens: counting it would make more than {MAX_RUNS} "
                          f"sorted runs, too many to merge in bounded time; give --memory "
                          f"{format_bytes(minimum_bytes(tokens))} or more")


def minimum_bytes(tokens: int) -> int:
    """The smallest budget that counts `tokens` tokens in at most `MAX_RUNS` runs."""
    rows = -(-tokens // MAX_RUNS)
    return max(MIN_MEMORY, -(-rows * COUNT_ROW_BYTES // 1024) * 1024 * 2)


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far: Linux's VmHWM (the address space's own
    high-water mark; `ru_maxrss` also counts the parent's, copied in at fork and kept across
    exec), else `ru_maxrss` (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int:
    """Resident memory now (Linux), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()

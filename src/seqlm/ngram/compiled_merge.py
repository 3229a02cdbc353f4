"""The compiled engine's k-way merge of sorted runs (`seqlm.ngram.runs.merge_runs`, engine
"numba"): the runs' current blocks live side by side in one (R, rows) buffer per column, and
one compiled call merges every key up to the smallest last key of the blocks.

The NumPy merge (`seqlm.ngram.runs.merge_runs`) cuts each run's block at the bound with a
`searchsorted`, concatenates the pieces and sorts them: R Python steps for each merged block,
and the blocks shrink as the runs multiply (the budget is shared by R of them), so its Python
cost grows with the square of the corpus over the budget (measured: 10 of the 22 s of counting
20M tokens under `--memory 100M`, 70 runs per order). Here Python touches a run only when its
block runs dry: it writes that block's ranks to the run's map (in the run's row order, as the
NumPy merge writes them) and reads the run's next block. The merge itself is a binary heap of
the runs' heads (ties go to the lowest run, as the stable sort's do; the payload is a function
of the key, so every run agrees): the same keys, summed counts, payloads and ranks, value for
value (`tests/ngram/test_compiled_count.py`).
Leaves out: splitting one merge across threads (the ranks of the later half would wait for the
count of keys of the earlier one).
"""

import numpy as np
from numba import njit

from seqlm.ngram.compiled_count import _sift_down

ROW_BYTES = 64  # per buffered run row: key, count, payload, rank, and the merged output's three


@njit(cache=True, nogil=True)
def merge_step(keys, counts, payload, heads, lengths, ranks, first_rank, out_keys, out_counts,
               out_payload):
    """Merge every buffered row whose key is at most the smallest last key of the runs that
    hold rows: runs r's rows heads[r]:lengths[r] of keys, counts, payload (R, rows). Writes
    the merged keys, summed counts and payloads to the outputs, each row's global rank to
    ranks (R, rows), advances heads; returns how many merged keys were written."""
    R = keys.shape[0]
    has_payload = payload.shape[1] > 0
    bound = np.iinfo(np.int64).max
    heap_keys = np.empty(R, dtype=np.int64)
    heap_runs = np.empty(R, dtype=np.int64)
    size = 0
    for r in range(R):
        if heads[r] < lengths[r]:
            bound = min(bound, keys[r, lengths[r] - 1])
            heap_keys[size], heap_runs[size] = keys[r, heads[r]], r
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(heap_keys, heap_runs, size, i)
    m = -1
    while size > 0 and heap_keys[0] <= bound:
        key, r = heap_keys[0], heap_runs[0]
        row = heads[r]
        if m < 0 or out_keys[m] != key:
            m += 1
            out_keys[m], out_counts[m] = key, 0
            if has_payload:
                out_payload[m] = payload[r, row]
        out_counts[m] += counts[r, row]
        ranks[r, row] = first_rank + m
        heads[r] = row + 1
        if row + 1 < lengths[r]:
            heap_keys[0] = keys[r, row + 1]
        else:
            size -= 1
            heap_keys[0], heap_runs[0] = heap_keys[size], heap_runs[size]
        _sift_down(heap_keys, heap_runs, size, 0)
    return m + 1


class Buffers:
    """The current block of each of R runs, (R, rows) per column, and the merged output."""

    def __init__(self, runs: list, rows: int, has_payload: bool):
        R = len(runs)
        self.runs, self.rows, self.next = runs, rows, np.zeros(R, dtype=np.int64)
        self.keys = np.zeros((R, rows), dtype=np.int64)
        self.counts = np.zeros((R, rows), dtype=np.int64)
        self.payload = np.zeros((R, rows if has_payload else 0), dtype=np.int64)
        self.ranks = np.zeros((R, rows), dtype=np.int64)
        self.heads = np.zeros(R, dtype=np.int64)
        self.lengths = np.zeros(R, dtype=np.int64)
        n = R * rows
        self.out = [np.empty(n, np.int64), np.empty(n, np.int64),
                    np.empty(n if has_payload else 0, np.int64)]

    def refill(self, r: int) -> None:
        """Run r's next block (none left: an empty one)."""
        run, lo = self.runs[r], int(self.next[r])
        n = min(self.rows, len(run) - lo)
        if n > 0:
            self.keys[r, :n] = run.keys.read(lo, lo + n)
            self.counts[r, :n] = run.counts.read(lo, lo + n)
            if self.payload.shape[1]:
                self.payload[r, :n] = run.payload.read(lo, lo + n)
        self.heads[r], self.lengths[r] = 0, max(n, 0)
        self.next[r] = lo + max(n, 0)

    def dry(self) -> np.ndarray:
        """The runs whose block is used up."""
        return np.flatnonzero(self.heads >= self.lengths)

    def step(self, first_rank: int) -> int:
        return merge_step(self.keys, self.counts, self.payload, self.heads, self.lengths,
                          self.ranks, first_rank, *self.out)


def merge_compiled(runs: list, writers: list, map_writers: list, rows: int) -> None:
    """Merge `runs` (each a `seqlm.ngram.runs.Run`) into `writers` (keys, counts, payload;
    payload only where the runs have one) and each run's ranks into `map_writers` (none: no
    maps), `rows` rows of each run at a time."""
    has_payload = runs[0].payload is not None
    buffers = Buffers(runs, rows, has_payload)
    for r in range(len(runs)):
        buffers.refill(r)
    written = 0
    while bool((buffers.heads < buffers.lengths).any()):
        m = buffers.step(written)
        for w, values in zip(writers, buffers.out, strict=False):
            if len(values):
                w.append(values[:m].copy())  # the buffers are reused
        written += m
        for r in buffers.dry().tolist():
            if buffers.lengths[r] == 0:
                continue  # run r was used up before
            if map_writers:
                ranks = buffers.ranks[r, :buffers.lengths[r]]
                map_writers[r].append(ranks.astype(map_writers[r].dtype))  # a copy
            buffers.refill(r)

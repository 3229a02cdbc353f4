"""Sorted runs and their merge; counting and gathering by index in bounded memory.

A *run* is a table sorted by a unique int64 key with a count per key and optionally a
payload that is a function of the key (an n-gram's suffix id): what `np.unique` gives for
one chunk of the token stream. `merge_runs` merges R runs block by block (an external k-way
merge): each run contributes a block; every key up to the smallest last key of the blocks is
complete, so those keys are merged (counts summed) and written, and each run learns the
global rank of each of its keys (`maps`, in the run's row order):

    run 0: 3 5 9 | 12 ...        bound = min(9, 10) = 9: write 3 5 7 9, then refill run 0
    run 1: 5 7 10 | 11 ...       run 0 maps 3 5 9 -> 0 1 3; run 1 maps 5 7 -> 1 2

`count_index` is `np.bincount` and `gather` is fancy indexing, each with the operand split
into budget-sized chunks when it is spilled (`seqlm.ngram.spill`): counting adds up the
bincounts of the chunks where the dense counts fit a quarter of the budget, else sorts chunks
into runs and merges them; gathering sorts a chunk of indices and reads only the blocks of
the source they fall in. In memory each is the plain NumPy call. Engine "numba" sorts with
the kernels of `seqlm.ngram.compiled_count` and merges with `seqlm.ngram.compiled_merge`
(the same rows).
Leaves out: multi-pass merges (a merge holds one block of every run; the number of runs is
about the corpus size over the budget, so the block of each run shrinks as runs multiply).
"""

from dataclasses import dataclass

import numpy as np

from seqlm.ngram.spill import Column, Workspace

ROW_BYTES = 128  # a merge block row: key, count, payload, rank and the sort's copies
COMPILED_MERGE_SHARE = 0.5  # of the budget for the compiled merge's blocks (no sort copies;
# the compiled engine's own code is taken off the budget: seqlm.ngram.engine.kernel_overhead)


@dataclass
class Run:
    """A sorted, unique-keyed table (each column a `Column`)."""

    keys: Column
    counts: Column
    payload: Column | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def drop(self) -> None:
        """Delete its spill files (`Column.drop`)."""
        for column in (self.keys, self.counts, self.payload):
            if column is not None:
                column.drop()


def write_run(ws: Workspace, keys: np.ndarray, counts: np.ndarray,
              payload: np.ndarray | None, name: str) -> Run:
    """A run where the workspace keeps columns; spilled, its counts and payload as int32
    where they fit (a third less to write and read back; the merge widens them again)."""
    if ws.spilling:
        counts, payload = narrow(counts), None if payload is None else narrow(payload)
    return Run(ws.column(keys, f"{name}-keys"), ws.column(counts, f"{name}-counts"),
               None if payload is None else ws.column(payload, f"{name}-payload"))


def narrow(values: np.ndarray) -> np.ndarray:
    """int64 values >= 0 as int32 where they fit."""
    fits = not len(values) or int(values.max()) < 2**31
    return values.astype(np.int32) if fits and values.dtype == np.int64 else values


def widened(run: Run, ws: Workspace, name: str) -> Run:
    """The run with int64 counts and payload (a narrowed run that needs no merge)."""
    columns = [run.counts] + ([run.payload] if run.payload is not None else [])
    if all(c.dtype == np.int64 for c in columns):
        return run
    wide = []
    for column, part in zip(columns, ("counts", "payload"), strict=False):
        w = ws.writer(np.int64, f"{name}-{part}")
        for _, block in column.blocks(ws.budget.rows(16, share=0.25)):
            w.append(block.astype(np.int64))
        wide.append(w.finish())
        column.drop()
    return Run(run.keys, wide[0], wide[1] if len(wide) > 1 else None)


class _Cursor:
    """The unread rows of one run's current block."""

    def __init__(self, run: Run, rows: int):
        self.run, self.rows, self.next = run, rows, 0
        self.keys = self.counts = self.payload = np.zeros(0, dtype=np.int64)

    def fill(self) -> bool:
        if not len(self.keys) and self.next < len(self.run):
            lo, hi = self.next, self.next + self.rows
            self.keys = self.run.keys.read(lo, hi)
            self.counts = self.run.counts.read(lo, hi).astype(np.int64)  # narrowed: widened
            if self.run.payload is not None:
                self.payload = self.run.payload.read(lo, hi).astype(np.int64)
            self.next += len(self.keys)
        return len(self.keys) > 0

    def take(self, bound: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = int(self.keys.searchsorted(bound, side="right"))
        out = self.keys[:n], self.counts[:n], self.payload[:n]
        self.keys, self.counts, self.payload = self.keys[n:], self.counts[n:], self.payload[n:]
        return out


def merge_runs(runs: list[Run], ws: Workspace, name: str, maps: bool = False,
               engine: str = "numpy") -> tuple[Run, list[Column]]:
    """One run holding every key of `runs` (counts summed), and per run the global rank of
    each of its rows if `maps`; engine "numba" merges with
    `seqlm.ngram.compiled_merge.merge_compiled` (the same rows)."""
    if len(runs) == 1:
        ranks = [ws.column(np.arange(len(runs[0]), dtype=np.int64), f"{name}-map")] if maps else []
        return widened(runs[0], ws, name), ranks
    has_payload = runs[0].payload is not None
    out = [ws.writer(np.int64, f"{name}-{part}") for part in ("keys", "counts", "payload")]
    rank_dtype = np.int32 if sum(len(r) for r in runs) < 2**31 else np.int64
    map_writers = [ws.writer(rank_dtype, f"{name}-map{r}") for r in range(len(runs))
                   ] if maps else []
    if engine == "numba":
        from seqlm.ngram.compiled_merge import ROW_BYTES as COMPILED_ROW_BYTES
        from seqlm.ngram.compiled_merge import merge_compiled

        longest = max(len(r) for r in runs)
        rows = min(longest, ws.budget.rows(COMPILED_ROW_BYTES * len(runs), COMPILED_MERGE_SHARE))
        merge_compiled(runs, out[:2 + has_payload], map_writers, max(rows, 1))
    else:
        merge_numpy_runs(runs, ws, out, map_writers, has_payload)
    merged = Run(out[0].finish(), out[1].finish(), out[2].finish() if has_payload else None)
    return merged, [w.finish() for w in map_writers]


def merge_numpy_runs(runs: list[Run], ws: Workspace, out: list, map_writers: list,
                     has_payload: bool) -> None:
    """The reference merge: a block of each run at a time, cut at the smallest last key."""
    rows = ws.budget.rows(ROW_BYTES * (len(runs) + 1)) if ws.spilling else 1 << 62
    cursors = [_Cursor(r, rows) for r in runs]
    maps = bool(map_writers)
    written = 0
    while True:
        active = [r for r, c in enumerate(cursors) if c.fill()]
        if not active:
            break
        bound = min(int(cursors[r].keys[-1]) for r in active)
        parts = [cursors[r].take(bound) for r in active]
        bounds = np.cumsum([0] + [len(p[0]) for p in parts])
        keys, counts, payload, inverse = merge_numpy(parts, bounds, written, has_payload, maps)
        out[0].append(keys)
        out[1].append(counts)
        if has_payload:
            out[2].append(payload)
        for r, lo, hi in zip(active if maps else [], bounds[:-1].tolist(), bounds[1:].tolist(),
                             strict=False):
            map_writers[r].append(inverse[lo:hi])
        written += len(keys)


def merge_numpy(parts: list[tuple], bounds: np.ndarray, written: int, has_payload: bool,
                maps: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Parts (keys, counts, payload) of sorted runs merged: keys, summed counts, payloads,
    and if `maps` each input row's global rank (`written` + its place among the merged keys)."""
    keys = np.concatenate([p[0] for p in parts])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(first)
    counts = np.concatenate([p[1] for p in parts])[order]
    summed = np.add.reduceat(counts, starts) if len(starts) else counts[:0]
    payload = np.concatenate([p[2] for p in parts])[order][starts] if has_payload else None
    inverse = np.empty(len(keys) if maps else 0, dtype=np.int64)
    if maps:
        inverse[order] = np.cumsum(first) - 1 + written
    return sorted_keys[starts], summed, payload, inverse


def count_index(index: Column, size: int, ws: Workspace, name: str,
                engine: str = "numpy") -> Column:
    """np.bincount(index, minlength=size) as a column; spilled: through sorted runs (sorted
    and merged by `seqlm.ngram.compiled_count` for engine "numba")."""
    if not index.spilled:
        return ws.column(np.bincount(index.array(), minlength=size).astype(np.int64), name)
    if size <= ws.budget.rows(16, share=0.25):  # the dense counts fit: add up block by block
        dense = np.zeros(size, dtype=np.int64)
        for _, chunk in index.blocks(ws.budget.rows(16, share=0.25)):
            dense += np.bincount(chunk, minlength=size)
        return ws.column(dense, name)
    if engine == "numba":
        return count_index_in_stripes(index, size, ws, name)
    runs = []
    for _, chunk in index.blocks(ws.budget.rows(48, share=0.5)):
        keys, counts = unique_counts(chunk, engine)
        runs.append(write_run(ws, keys, counts.astype(np.int64), None, f"{name}-run"))
    sparse, _ = merge_runs(runs, ws, f"{name}-merged", engine=engine)
    for run in runs if len(runs) > 1 else []:
        run.drop()
    dense = ws.writer(np.int64, name)
    done = 0
    for lo, keys in sparse.keys.blocks(ws.budget.rows(32, share=0.25)):
        counts = sparse.counts.read(lo, lo + len(keys))
        append_zeros(dense, int(keys[0]) - done, len(keys))
        block = np.zeros(int(keys[-1]) + 1 - int(keys[0]), dtype=np.int64)
        block[keys - keys[0]] = counts
        dense.append(block)
        done = int(keys[-1]) + 1
    append_zeros(dense, size - done, ws.budget.rows(8, share=0.25))
    sparse.drop()
    return dense.finish()


def count_index_in_stripes(index: Column, size: int, ws: Workspace, name: str) -> Column:
    """`count_index` of a spilled index as dense counts, one stripe of ids [lo, lo + rows)
    at a time, each from a pass that reads the whole index: reading costs far less than
    writing and merging sorted runs (measured: 430 MB/s to write a spill file here, 1.3 GB/s
    to read one back)."""
    from seqlm.ngram.compiled_count import add_counts

    stripe = ws.budget.rows(8, share=0.25)
    dense = ws.writer(np.int64, name)
    for lo in range(0, size, stripe):
        counts = np.zeros(min(stripe, size - lo), dtype=np.int64)
        for _, chunk in index.blocks(ws.budget.rows(index.dtype.itemsize, share=0.25)):
            add_counts(counts, chunk, lo)
        dense.append(counts)
    return dense.finish()


def unique_counts(values: np.ndarray, engine: str) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_counts=True), or its compiled equal."""
    if engine == "numba":
        from seqlm.ngram.compiled_count import unique_counts as compiled

        return compiled(values.astype(np.int64))
    return np.unique(values, return_counts=True)


def sort_indices(index: np.ndarray, engine: str) -> tuple[np.ndarray, np.ndarray]:
    """(the stable argsort of index, index sorted)."""
    if engine == "numba":
        from seqlm.ngram.compiled_count import radix_argsort

        wanted, order = radix_argsort(index.astype(np.int64))
        return order, wanted
    order = np.argsort(index, kind="stable")
    return order, index[order]


def append_zeros(writer, n: int, rows: int) -> None:
    """Append n zeros, at most `rows` at a time."""
    rows = max(1, min(rows, n)) if n > 0 else 1
    while n > 0:
        writer.append(np.zeros(min(rows, n), dtype=writer.dtype))
        n -= rows


def gather(source: Column, index: np.ndarray, ws: Workspace, engine: str = "numpy",
           ) -> np.ndarray:
    """source[index] for an index array in memory; a spilled source is read only in the
    blocks that the (sorted) indices fall in (sorted by the compiled radix sort of
    `seqlm.ngram.compiled_count` for engine "numba")."""
    if not source.spilled:
        return source.memory[index]
    out = np.empty(len(index), dtype=source.dtype)
    if not len(index):
        return out
    monotone = bool(np.all(index[1:] >= index[:-1]))
    order, wanted = (None, index) if monotone else sort_indices(index, engine)
    rows = ws.budget.rows(max(source.dtype.itemsize, 8), share=0.25)
    lo, last = int(wanted[0]), int(wanted[-1])
    while lo <= last:
        a = int(np.searchsorted(wanted, lo))
        lo = int(wanted[a])  # skip the stretch no index falls in
        b = int(np.searchsorted(wanted, lo + rows))
        block = source.read(lo, min(lo + rows, last + 1))  # no rows past the last one wanted
        if monotone:
            out[a:b] = block[wanted[a:b] - lo]
        else:
            out[order[a:b]] = block[wanted[a:b] - lo]
        lo += rows
    return out

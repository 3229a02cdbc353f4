"""Counting n-grams of orders 1..N in chunks of the id stream, and KenLM's adjusted counts.

Every n-gram inside a sentence `<s> w1 … wk </s>` is counted, never one that crosses a line.
Order k+1 is built from order k: each position carries `here`, the id of the order-k n-gram
ending there; the key `here[i-1] * V + word[i]` names the order-(k+1) n-gram ending at i
(`seqlm.ngram.trie`), and `np.unique(..., return_inverse=True, return_counts=True)` (as
`unique_inverse` computes it: one vectorised sort, not an argsort) turns a chunk's keys into a
sorted run of keys and counts and the chunk's next `here`. The suffix of each n-gram (it
without its oldest word) is the order-k id at the same position, which is what Kneser-Ney's
continuation counts need. Chunks are whole sentences; with one chunk (no memory budget, or a
corpus that fits) this is one sort per order. With several, each chunk's run is spilled
(`seqlm.ngram.spill`), the runs are merged (`seqlm.ngram.runs`), and the merge's rank maps turn
each chunk's local `here` into global ids.

Adjusted counts (Kneser & Ney 1995 continuation counts, with KenLM's rules; Heafield et al.
2013 section 3.1): the highest order keeps raw counts; a lower-order n-gram starting with `<s>`
keeps its raw count (nothing can stand to its left); every other lower-order n-gram counts the
distinct words seen to its left; `<s>` and `<unk>` as unigrams count 0. The n-grams starting
with `<s>` are one id range per order (ids sort n-grams by their first word), found by
binary search.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.config.ngram import MAX_ORDER, MIN_ORDER
from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.budget import COUNT_ROW_BYTES, COUNT_SHARE
from seqlm.ngram.reading import IdStream
from seqlm.ngram.runs import Run, count_index, merge_runs, write_run
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_UNK_ID, NgramVocab
from seqlm.progress import Progress, ProgressCallback, report

TABLE_ROW_BYTES = 24  # per position and order, for the tables once counted: with the chunk's
# COUNT_ROW_BYTES, 360 B per position at order 5 against ~170 B measured for a whole build
# in memory (1.13M positions, NumPy engine: 191 MB past the interpreter; issue 25)


def check_order(order: int) -> int:
    if not isinstance(order, int) or isinstance(order, bool) or not MIN_ORDER <= order <= MAX_ORDER:
        raise SeqlmError(f"order {order!r} is out of range: choose an order from {MIN_ORDER} to "
                         f"{MAX_ORDER} (3 to 5 is usual for words, 5 to 10 for characters)")
    return order


@dataclass(frozen=True)
class NgramCounts:
    """Raw counts of every order, as columns. Lists are indexed by order - 1.

    keys[k-1]:   (M_k,) sorted int64 keys of the order-k n-grams (order 1: 0..V-1, every word)
    counts[k-1]: (M_k,) int64 raw counts
    suffix[k-1]: (M_k,) id of the order-(k-1) n-gram without the oldest word (order 1: empty)
    engine:      the engine that counted them ("numpy" or "numba"), which the estimate keeps
    """

    vocab: NgramVocab
    order: int
    keys: list[Column]
    counts: list[Column]
    suffix: list[Column]
    engine: str = "numpy"

    @property
    def V(self) -> int:  # noqa: N802 (the shape letter of the vocabulary)
        return len(self.vocab)

    def sizes(self) -> list[int]:
        """Number of n-grams per order, as an ARPA header states them."""
        return [len(k) for k in self.keys]

    def parents(self, order: int) -> np.ndarray:
        """(M_order,) the id of each n-gram's context (order >= 2; in memory only)."""
        return trie.parents(self.keys[order - 1].array(), self.V)

    def words(self, order: int) -> np.ndarray:
        """(M_order,) the last word of each n-gram (in memory only)."""
        return trie.last_words(self.keys[order - 1].array(), self.V)

    def bos_range(self, order: int) -> tuple[int, int]:
        """The ids [lo, hi) of the order-k n-grams that start with `<s>`."""
        lo, hi = NGRAM_BOS_ID, NGRAM_BOS_ID + 1
        for k in range(2, order + 1):
            lo = self.keys[k - 1].searchsorted(lo * self.V)
            hi = self.keys[k - 1].searchsorted(hi * self.V)
        return lo, hi


def sentence_offsets(ids: np.ndarray) -> np.ndarray:
    """Each position's distance from its sentence's `<s>` (T,); `ids` starts with `<s>`."""
    starts = np.flatnonzero(ids == NGRAM_BOS_ID)
    lengths = np.diff(np.append(starts, len(ids)))
    return np.arange(len(ids), dtype=np.int64) - np.repeat(starts, lengths)


def count_chunk(ids: np.ndarray, prev: np.ndarray, k: int, V: int,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One chunk's order-k run (keys, counts, suffix) and its `here` (local ranks)."""
    pos = np.flatnonzero(sentence_offsets(ids) >= k - 1)
    keys, inverse, counts = unique_inverse(trie.pack(prev[pos - 1], ids[pos], V))
    suffix = np.empty(len(keys), dtype=np.int64)
    suffix[inverse] = prev[pos]  # every occurrence agrees: the suffix is a function of the key
    here = np.zeros(len(ids), dtype=np.int64)  # positions outside `pos` are never read again
    here[pos] = inverse
    return keys, counts.astype(np.int64), suffix, here


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True, return_counts=True)` of keys >= 0 (N,), from one
    sort of each key packed with its position into an int64 where both fit: NumPy's sort is
    vectorised, its argsort (which `np.unique`'s inverse takes) is not, ~4x slower on a
    chunk's n-grams. The same arrays either way."""
    n = len(keys)
    position_bits = max((n - 1).bit_length(), 1)
    if n == 0 or int(keys.max()).bit_length() + position_bits > 63:
        return np.unique(keys, return_inverse=True, return_counts=True)
    packed = np.sort((keys << position_bits) | np.arange(n, dtype=np.int64))
    ordered = packed >> position_bits
    first = np.empty(n, dtype=bool)  # where each distinct key's stretch starts
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    inverse = np.empty(n, dtype=np.int64)
    inverse[packed & ((1 << position_bits) - 1)] = np.cumsum(first) - 1
    return ordered[starts], inverse, np.diff(np.append(starts, n))


def count_stream(stream: IdStream, vocab: NgramVocab, order: int, ws: Workspace,
                 progress: ProgressCallback | None = None, engine: str = "numpy",
                 ) -> NgramCounts:
    """Count every n-gram of orders 1..`order` in `stream` (engine "numba": each chunk and
    merge by `seqlm.ngram.compiled_count`, the same columns)."""
    check_order(order)
    V = len(vocab)
    chunks = stream.chunks(ws.budget.rows(COUNT_ROW_BYTES, share=COUNT_SHARE))
    if not ws.budget.fits(len(stream) * (COUNT_ROW_BYTES + TABLE_ROW_BYTES * order)):
        ws.spill()  # the runs, the tables and every later column go to disk
    unigrams = np.zeros(V, dtype=np.int64)
    for lo, hi in chunks:
        unigrams += np.bincount(stream.ids.read(lo, hi), minlength=V)
    keys, counts = [ws.column(np.arange(V, dtype=np.int64), "keys1")], [ws.column(unigrams, "c1")]
    suffix = [ws.column(np.zeros(0, dtype=np.int64), "suffix1")]
    here = stream.ids
    for k in range(2, order + 1):
        trie.check_packable(len(keys[-1]), V)
        run, new_here = count_order(stream, here, chunks, k, V, ws, progress, order, engine,
                                    keep_here=k < order)
        if here is not stream.ids:  # order k-1's ranks are read by order k only
            here.drop()
        here = new_here
        keys.append(run.keys)
        counts.append(run.counts)
        suffix.append(run.payload)
    report(progress, Progress("count", order, order, unit="order"))
    return NgramCounts(vocab=vocab, order=order, keys=keys, counts=counts, suffix=suffix,
                       engine=engine)


def count_order(stream: IdStream, prev: Column, chunks: list[tuple[int, int]], k: int, V: int,
                ws: Workspace, progress, order: int, engine: str = "numpy",
                keep_here: bool = True) -> tuple[Run, Column | None]:
    """The order-k table and the new `here` column (None unless `keep_here`: the highest
    order's is never read), chunk by chunk; ranks are stored as int32 where they fit."""
    runs = []
    local = ws.writer(id_dtype(max(hi - lo for lo, hi in chunks)), f"here{k}-local")
    counter = count_chunk
    if engine == "numba":
        from seqlm.ngram.compiled_count import count_chunk as counter
    for i, (lo, hi) in enumerate(chunks):
        report(progress, Progress("count", k - 1, order, unit="order",
                                  message=f"{k}-grams, chunk {i + 1}/{len(chunks)}"))
        ids = stream.ids.read(lo, hi).astype(np.int64)
        keys, counts, suffix, here = counter(ids, prev.read(lo, hi).astype(np.int64), k, V)
        runs.append(write_run(ws, keys, counts, suffix, f"run{k}-{i}"))
        if keep_here:
            local.append(here)
    local_here = local.finish() if keep_here else None
    if len(runs) == 1:
        return runs[0], local_here
    report(progress, Progress("merge", k - 1, order, unit="order",
                              message=f"{k}-grams, {len(runs)} runs"))
    table, maps = merge_runs(runs, ws, f"ngrams{k}", maps=keep_here, engine=engine)
    for run in runs:  # merged: their spill files go now, before they are written back
        run.drop()
    if not keep_here:
        return table, None
    here = ws.writer(id_dtype(len(table)), f"here{k}")
    for (lo, hi), ranks in zip(chunks, maps, strict=True):
        local_ids = local_here.read(lo, hi)
        if len(ranks):  # a chunk of sentences too short for order k has no run to map
            here.append(ranks.array()[local_ids])
        else:
            here.append(np.zeros(len(local_ids), dtype=np.int64))
    for column in (local_here, *maps):
        column.drop()
    return table, here.finish()


def id_dtype(n: int):
    """The smallest of int32 and int64 that holds the ids 0..n-1."""
    return np.int32 if n < 2**31 else np.int64


def adjusted_counts(c: NgramCounts, ws: Workspace) -> list[Column]:
    """KenLM's adjusted counts per order (see the module docstring). (M_k,) int64 each."""
    adjusted = [c.counts[-1]]
    for k in range(c.order - 1, 0, -1):
        left = count_index(c.suffix[k], len(c.keys[k - 1]), ws, f"left{k}",  # distinct left
                           c.engine)  # words
        lo, hi = c.bos_range(k)
        adjusted.insert(0, replace_range(left, lo, hi, c.counts[k - 1], ws, f"adjusted{k}"))
        left.drop()
    unigrams = adjusted[0].array().copy()
    unigrams[[NGRAM_UNK_ID, NGRAM_BOS_ID]] = 0
    adjusted[0] = ws.column(unigrams, "adjusted1")
    return adjusted


def replace_range(base: Column, lo: int, hi: int, source: Column, ws: Workspace,
                  name: str) -> Column:
    """`base` with rows [lo, hi) taken from `source`."""
    if not base.spilled:
        out = base.array().copy()
        out[lo:hi] = source.read(lo, hi)
        return ws.column(out, name)
    w = ws.writer(base.dtype, name)
    for start, block in base.blocks(ws.budget.rows(16, share=0.25)):
        a, b = max(lo, start), min(hi, start + len(block))
        if a < b:
            block = block.copy()
            block[a - start:b - start] = source.read(a, b)
        w.append(block)
    return w.finish()

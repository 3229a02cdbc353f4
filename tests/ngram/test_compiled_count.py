"""The compiled counting kernels against their NumPy references, array for array: a chunk's
run, the radix sort (packed and wide keys), the k-way merge of runs (in memory and spilled),
a spilled count of an index, and which engine counted."""

import numpy as np
import pytest

from seqlm.ngram import counts as reference
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.reading import read_stream
from seqlm.ngram.runs import count_index, merge_runs, write_run
from seqlm.ngram.spill import Workspace

compiled = pytest.importorskip("seqlm.ngram.compiled_count")


def chunk(rng, n: int, V: int) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's ids (sentences from `<s>`) and a `here` that is a function of the n-gram, as
    the previous order's ids are."""
    ids = rng.integers(2, V, n)
    ids[0] = 1
    ids[rng.random(n) < 0.2] = 1
    prev = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        prev[i] = (prev[i - 1] * 31 + ids[i] * 7) % 40
    return ids, prev


@pytest.mark.parametrize("seed", range(6))
def test_a_chunk_counts_as_numpy_counts_it(seed):
    rng = np.random.default_rng(seed)
    ids, prev = chunk(rng, int(rng.integers(1, 4000)), int(rng.integers(3, 60)))
    for k in (2, 3, 5, 8):
        V = int(ids.max()) + 1
        for ours, theirs in zip(compiled.count_chunk(ids, prev, k, V),
                                reference.count_chunk(ids, prev, k, V), strict=True):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


@pytest.mark.parametrize("high", [2**20, 2**40, 2**62])
def test_the_radix_sort_is_a_stable_argsort(high):
    """Keys packed with their row numbers (<= 63 bits) and wider ones (the fallback)."""
    rng = np.random.default_rng(1)
    keys = rng.integers(0, high, 5000)
    keys[100:400] = keys[0]  # ties keep their order
    ours, order = compiled.radix_argsort(keys)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(ours, keys[order])
    got = compiled.unique_counts(keys)
    assert all(np.array_equal(a, b) for a, b in zip(got, np.unique(keys, return_counts=True),
                                                       strict=True))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("memory", [None, "64K"])
def test_the_compiled_merge_merges_as_numpy_does(seed, memory, tmp_path):
    """Runs in memory and spilled (64K: blocks of a few rows, refilled many times), with and
    without payloads and rank maps, some runs empty."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(int(rng.integers(1, 12))):
        keys = np.unique(rng.integers(0, 300 if seed % 2 else 10**6, int(rng.integers(0, 3000))))
        arrays.append((keys, rng.integers(1, 5, len(keys)), keys * 7 + 1))
    for payload in (True, False):
        got = []
        for engine in ("numba", "numpy"):
            with Workspace(MemoryBudget.of(memory), tmp_path) as ws:
                if memory:
                    ws.spill()
                runs = [write_run(ws, k, c, p if payload else None, f"r{i}")
                        for i, (k, c, p) in enumerate(arrays)]
                merged, maps = merge_runs(runs, ws, "m", maps=True, engine=engine)
                got.append([merged.keys.array(), merged.counts.array(),
                            None if merged.payload is None else merged.payload.array(),
                            *(m.array() for m in maps)])
        for a, b in zip(*got, strict=True):
            assert (a is None and b is None) or (a.dtype == b.dtype and np.array_equal(a, b))


def test_the_engine_that_counted_is_kept_and_its_kernels_ran(monkeypatch):
    calls = []
    kernel = compiled.count_chunk
    monkeypatch.setattr(compiled, "count_chunk", lambda *a: calls.append(1) or kernel(*a))
    text = "a b c a b\nb c a\n" * 50
    for engine in ("numpy", "numba"):
        with Workspace(MemoryBudget()) as ws:
            stream, vocab = read_stream(text, "word", ws)
            counts = reference.count_stream(stream, vocab, 3, ws, engine=engine)
        assert counts.engine == engine
        assert len(calls) == (2 if engine == "numba" else 0)  # orders 2 and 3, one chunk


@pytest.mark.parametrize("size", [900, 10_000])
def test_a_spilled_count_index_counts_as_bincount(size, tmp_path):
    """64K: 900 ids fit the dense counts; 10,000 need five stripes (numba) or sorted runs
    (numpy); both give np.bincount."""
    index = np.random.default_rng(size).integers(0, size, 30_000)
    expected = np.bincount(index, minlength=size)
    for engine in ("numba", "numpy"):
        with Workspace(MemoryBudget.of("64K"), tmp_path) as ws:
            ws.spill()
            got = count_index(ws.column(index.astype(np.int32), "index"), size, ws, "c", engine)
            assert got.dtype == np.int64 and np.array_equal(got.array(), expected)

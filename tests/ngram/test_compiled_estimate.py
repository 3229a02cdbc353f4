"""The compiled Kneser-Ney block against the NumPy steps it replaces: the same bits for p,
the contexts and gamma, with and without pruned rows, on random blocks."""

import numpy as np
import pytest

from seqlm.ngram.estimate import ARITHMETIC, block_probs

pytest.importorskip("numba")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("pruned", [False, True])
def test_the_compiled_block_gives_the_numpy_bits(seed, pruned):
    rng = np.random.default_rng(seed)
    V, n = 997, 20_000
    keys = np.unique(rng.integers(0, 3000 * V, size=n)).astype(np.int64)
    a = rng.zipf(1.5, size=len(keys)).astype(np.int64)
    keep = rng.random(len(keys)) < 0.7 if pruned else np.ones(len(keys), dtype=bool)
    table = np.array([0.0, 0.61, 1.13, 1.57])
    lower = rng.random(len(keys)) * 1e-3
    math = ARITHMETIC["double"]
    expected = block_probs(keys, a, keep, table, V, lower, math, "numpy")
    got = block_probs(keys, a, keep, table, V, lower, math, "numba")
    for e, g in zip(expected, got, strict=True):
        assert e.dtype == g.dtype and e.tobytes() == g.tobytes()
    assert len(got[1]) < len(keys)  # contexts with several extensions

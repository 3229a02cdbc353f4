"""The hash index agrees with binary search on present and absent keys."""

import numpy as np

from seqlm.ngram.probing import ProbingIndex


def test_probing_index_finds_every_key_and_nothing_else():
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 1000, 20000):
        keys = np.unique(rng.integers(0, 10**12, n))
        index = ProbingIndex(keys)
        assert np.array_equal(index.find(keys), np.arange(len(keys)))
        others = rng.integers(0, 10**12, 5000)
        expected = np.where(np.isin(others, keys), np.searchsorted(keys, others), -1)
        assert np.array_equal(index.find(others), expected)

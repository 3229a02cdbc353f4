"""`precision="kenlm"` computes log10 exactly as the C library's `log10f` lmplz calls: checked
value by value against libm through ctypes, where libm is glibc (the parity with lmplz's ARPA
files themselves is `benchmarks/bench_ngram.py`'s, where a KenLM build is found)."""

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest

from seqlm.ngram.single_precision import log10_32


def glibc_log10f():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the reference log10f is glibc's")
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    libm.log10f.restype, libm.log10f.argtypes = ctypes.c_float, [ctypes.c_float]
    return libm.log10f


def test_log10_32_equals_glibc_log10f_on_every_value_tried():
    log10f = glibc_log10f()
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.uniform(0, 1, 20000), 10.0 ** -rng.uniform(0, 12, 20000),  # probabilities
        rng.uniform(1, 8, 5000),  # gammas above 1 never occur, but log10f takes them
        2.0 ** np.arange(-149, 8, dtype=np.float64),  # powers of two, subnormals included
        np.nextafter(np.float32(1), np.float32(0)) * np.ones(1), [1.0, 0.5, 0.1, 1e-30],
    ]).astype(np.float32)
    values = values[values > 0]
    expected = np.array([log10f(float(v)) for v in values], dtype=np.float32)
    assert np.array_equal(log10_32(values), expected)
    assert log10_32(np.zeros(1, dtype=np.float32))[0] == -np.inf

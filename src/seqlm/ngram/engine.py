"""Which implementation runs the n-gram hot loops: `numpy` (the reference) or `numba`.

The NumPy code is the reference and stays the only one for most steps; the compiled engine
(`seqlm.ngram.compiled`, Numba `njit` with `cache=True`) replaces the loops where it
measured a payoff, writing byte-identical files (`tests/ngram/test_ngram_engines.py`).
`--engine auto` (the default) picks by input size: training a text of fewer than
`NgramConfig.compiled_min_tokens` tokens (4M), or scoring one of fewer than
`compiled_min_chars` characters (64M), runs on NumPy, because `import numba` and loading the
cached machine code cost ~1 s (0.5 s + 0.45 s measured at load 12 on 2 cores), more than a
whole Tiny Shakespeare run; a larger one runs compiled where Numba imports, else on NumPy.
`--engine numba` without Numba installed is a one-line error. The engine that ran is
recorded (`info["engine"]` of a build, `metrics.engine` of a run's manifest).
A build on the compiled engine loads its kernels once the engine is known and takes their
memory off the budget (`kernel_overhead`, `seqlm.ngram.budget`).
Leaves out: choosing per step (one engine per build).
"""

import importlib.util

from seqlm.config.fields import check_range
from seqlm.config.ngram import NGRAM_ENGINES
from seqlm.errors import SeqlmError


def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def resolve(name: str, tokens: int, min_tokens: int) -> str:
    """The engine to run for a text of `tokens` tokens: "numpy" or "numba"."""
    check_range("engine", name, {"choices": NGRAM_ENGINES})  # NgramConfig.engine's choices
    if name == "numba" and not numba_available():
        raise SeqlmError("--engine numba needs Numba: pip install numba (or use --engine numpy)")
    if name == "auto":
        return "numba" if tokens >= min_tokens and numba_available() else "numpy"
    return name


def kernel_overhead(held_bytes: int) -> int:
    """The process's resident memory once the counting kernels are loaded, less `held_bytes`
    (the data it holds in memory): the interpreter, the vocabulary, and Numba's and LLVM's
    own memory, which `seqlm.ngram.budget.MemoryBudget.less` takes off the data's budget."""
    import numpy as np

    from seqlm.ngram.budget import current_rss_bytes
    from seqlm.ngram.compiled_count import count_chunk

    count_chunk(np.array([1, 3], dtype=np.int64), np.zeros(2, dtype=np.int64), 2, 4)  # loaded
    return max(0, current_rss_bytes() - held_bytes)

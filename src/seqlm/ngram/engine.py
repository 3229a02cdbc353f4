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

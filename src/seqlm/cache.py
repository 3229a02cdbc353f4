"""Where seqlm keeps what it compiles on first use: the C++ step kernels
(`seqlm.nn.fast.kernels`) and the n-gram ARPA lines in C (`seqlm.ngram.arpa_c`).

`$SEQLM_KERNEL_DIR`, else `$XDG_CACHE_HOME/seqlm/kernels`, default `~/.cache/seqlm/kernels`.
Each builder names its own entries inside it by a hash of what it built from. Leaves out: a
size limit or clean-up (a build is a few MB; remove the folder to start afresh).
"""

import os
from pathlib import Path


def cache_root() -> Path:
    """`$SEQLM_KERNEL_DIR`, else `$XDG_CACHE_HOME/seqlm/kernels` (~/.cache/seqlm/kernels)."""
    if os.environ.get("SEQLM_KERNEL_DIR"):
        return Path(os.environ["SEQLM_KERNEL_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "seqlm" / "kernels"

"""The compiled step kernels (`kernels.cpp`): built on first use, cached, or eager with a note.

A recurrent step's elementwise work (gate nonlinearities, cell update, and backward their
derivatives) is one C++ call per step instead of 8-12 torch calls (`kernels.cpp` says what
each kernel computes; they are torch operators, `torch.ops.seqlm_kernels.*`), and a batch-1
step of a whole stack is one call (`stack_step.cpp`, used by the stepper; `lstm_bf16.cpp`
the LSTM's step on bf16 operands, `loops.cpp` a fused direction's whole time loop with its
products, `step_math.h` what they share). The sources are
compiled by `torch.utils.cpp_extension.load` (g++ and ninja, with OpenMP where torch's
threads are OpenMP's: `compiler_flags`) the first time a process asks for it, into a cache
folder keyed by a hash of the sources, the torch version, the CPU's SIMD level and the
flags: `$SEQLM_KERNEL_DIR`, else
`$XDG_CACHE_HOME/seqlm/kernels` (default `~/.cache/seqlm/kernels`). A later process finds the
built library there and compiles nothing (ninja sees every target up to date). The build
reads the folder's own copies of the sources, so two checkouts of seqlm at other paths share
one library instead of rebuilding each other's. Measured first build and cached start:
docs/nnlm.md.

Why C++ and not torch.compile, measured on the LSTM step (docs/nnlm.md): Inductor's call
carries ~20 us of fixed overhead per compiled call, more than this kernel takes at
B = 64, H = 512, and its first compilation took 16 s per graph and shape.

`resolve(kernels)` turns the `kernels` option into what runs: "eager" (torch ops), "compiled"
(these kernels; an error without a compiler), "auto" (compiled where a C++ compiler and ninja
are found, else eager with a one-line note). The build itself waits for the first float CPU
sequence (a GPU-only run never compiles); a build that fails is a one-line error naming the
folder of its log. The kernels take
float32 and float64 (the latter for gradchecks); the LSTM's also read and write the bf16
operands of bf16 products (`lstm_forward_low`, `lstm_backward`'s d_low), while the state and
the elementwise work stay in fp32. Leaves out: GPUs (CUDA tensors run the eager ops;
docs/nnlm.md), bf16 operands for the GRU and RNN kernels (their bf16 paths cast as the eager
ones do; they meet their targets without).
"""

import functools
import hashlib
import os
import shutil
import sys
from pathlib import Path

import torch

from seqlm.atomic import atomic_write_bytes
from seqlm.cache import cache_root
from seqlm.errors import SeqlmError

SOURCES = tuple(Path(__file__).with_name(name)  # the first is the header the others include
                for name in ("step_math.h", "kernels.cpp", "lstm_bf16.cpp", "loops.cpp",
                             "stack_step.cpp"))
SIMD_FLAGS = {"AVX512": ["-DCPU_CAPABILITY_AVX512", "-mavx512f", "-mavx512bw", "-mavx512vl",
                         "-mavx512dq", "-mfma"],
              "AVX2": ["-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma"]}


class KernelsUnavailableError(SeqlmError):
    """The compiled kernels cannot be built here (no compiler, no ninja, or a failed build)."""


def compiler_flags() -> list[str]:
    """The C++ flags of the build: -O3, the CPU's SIMD level, and OpenMP where torch's own
    threads are OpenMP's. Without -fopenmp, ATen's `at::parallel_for` compiles to a serial
    loop (`_OPENMP` undefined), and every kernel ran on one thread whatever `--threads` said.
    The library then needs libgomp.so.1, which the process has already loaded with torch (a
    library of that name is loaded once), so kernels and torch share one thread pool."""
    simd = SIMD_FLAGS.get(torch.backends.cpu.get_cpu_capability(), [])
    openmp = ["-fopenmp"] if torch.backends.openmp.is_available() \
        and sys.platform.startswith("linux") else []
    return ["-O3", *simd, *openmp]


@functools.cache
def build_key() -> str:
    """The cache folder's name: the sources, the torch version, the SIMD level and the
    compiler flags decide the library."""
    simd = torch.backends.cpu.get_cpu_capability()
    digest = hashlib.sha256(b"".join(s.read_bytes() for s in SOURCES) +
                            torch.__version__.encode() + simd.encode() +
                            " ".join(compiler_flags()).encode())
    return f"seqlm_kernels_{digest.hexdigest()[:16]}"


def missing_tools() -> str | None:
    """What is missing to build the kernels (a C++ compiler, ninja), or None."""
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler!r} not found)"
    from torch.utils.cpp_extension import is_ninja_available

    if not is_ninja_available():
        return "no ninja (pip install ninja)"
    return None


_LOADED: dict[str, object] = {}  # one build per process: a library is loaded only once


def load():
    """The compiled kernels (the `torch.ops.seqlm_kernels` namespace), built into the cache
    on first use; KernelsUnavailableError if they cannot be."""
    key = build_key()
    if key in _LOADED:
        return _LOADED[key]
    missing = missing_tools()
    if missing is not None:
        raise KernelsUnavailableError(missing)
    from torch.utils.cpp_extension import load as build

    folder = cache_root() / key
    folder.mkdir(parents=True, exist_ok=True)
    sources = [folder / s.name for s in SOURCES]  # built from the cache's own copies: every
    for copy, original in zip(sources, SOURCES, strict=True):  # checkout of the same sources
        if not copy.is_file():  # names the same files, so none rebuilds another's
            atomic_write_bytes(copy, original.read_bytes())
    flags = compiler_flags()
    try:
        build(key, sources=[str(s) for s in sources if s.suffix == ".cpp"],
              extra_cflags=flags, extra_ldflags=[f for f in flags if f == "-fopenmp"],
              build_directory=str(folder),
              is_python_module=False)
    except (RuntimeError, OSError, ImportError) as e:  # a failed build names its log
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise KernelsUnavailableError(f"the compiled kernels did not build in {folder} "
                                      f"({first}); use --kernels eager") from e
    _LOADED[key] = torch.ops.seqlm_kernels
    return _LOADED[key]


def resolve(kernels: str) -> tuple[str, str | None]:
    """`kernels` (auto | compiled | eager) -> (what runs, a one-line note or None). Nothing is
    built here: the first float CPU sequence builds (or loads) the kernels, so a model that
    only runs on a GPU never compiles. auto without a compiler or ninja falls back to eager
    with a note; compiled raises KernelsUnavailableError."""
    if kernels == "eager":
        return "eager", None
    missing = missing_tools()
    if missing is None:
        return "compiled", None
    if kernels == "compiled":
        raise KernelsUnavailableError(f"--kernels compiled: {missing}; install g++ and ninja, "
                                      "or use --kernels auto or eager")
    return "eager", f"kernels: eager ops ({missing}); compiled kernels need g++ and ninja"

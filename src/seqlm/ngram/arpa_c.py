"""The NumPy engine's ARPA lines in C (`arpa_lines.c`), compiled on first use, through ctypes.

A small run (Tiny Shakespeare words, order 5: 620,000 lines, 24 MB) spent half its time in
the NumPy writer's passes over padded byte matrices (`seqlm.ngram.byte_layout`); the
compiled engine's Numba kernels write the same bytes in one pass, but `import numba` alone
costs about what lmplz takes for the whole run. This writer is one C function that formats
a block's lines straight into a buffer, the same bytes as `seqlm.ngram.arpa.lines` (the
same float64 operations, the powers of ten handed over from NumPy; lines the reference
formats in Python, |x| >= 1000 or 0 < |x| < 1e-8, are written by the reference itself).

The source is compiled with the system C compiler (`$CC`, else `cc`) the first time a process
asks for it, into the cache folder the compiled step kernels use (`$SEQLM_KERNEL_DIR`, else
`$XDG_CACHE_HOME/seqlm/kernels`, default `~/.cache/seqlm/kernels`), under a name keyed by a
hash of the source and the flags; the library is written under a temporary
name and moved into place, so concurrent first runs never load half a file. A later process
loads it (ctypes, ~1 ms) and compiles nothing.

`load(writer)` turns `NgramConfig.arpa_writer` into what writes: "numpy" (the reference),
"c" (this; an error without a compiler), "auto" (this where it builds, else the reference,
with a one-line note for the build's info). Leaves out: threads (the NumPy engine runs
small texts, where one pass takes ~40 ms), Windows' compilers (auto falls back there).
"""

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlm.errors import SeqlmError

SOURCE = Path(__file__).with_name("arpa_lines.c")
FLAGS = ("-O2", "-std=c99", "-fPIC", "-shared")  # c99: no fused multiply-adds, as NumPy's
NUMBER_BYTES = 24  # the longest decimal the C formatter writes: -999. and 16 decimals
BUFFER_BYTES = 1 << 22  # one call's output at most (then the next call)
_POW10F = np.ascontiguousarray(10.0 ** np.arange(-30, 31))  # byte_layout's, passed over

_i64, _ptr = ctypes.c_int64, ctypes.c_void_p
_ARGTYPES = [_i64, _i64, _ptr, _ptr, _i64, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _i64,
             ctypes.POINTER(_i64), ctypes.POINTER(_i64)]


class CWriterUnavailableError(SeqlmError):
    """The C writer cannot be built here (no compiler, or a failed build)."""


def cache_root() -> Path:
    """`$SEQLM_KERNEL_DIR`, else `$XDG_CACHE_HOME/seqlm/kernels` (~/.cache/seqlm/kernels)."""
    if os.environ.get("SEQLM_KERNEL_DIR"):
        return Path(os.environ["SEQLM_KERNEL_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "seqlm" / "kernels"


def compiler() -> str:
    return os.environ.get("CC") or "cc"


def library_path() -> Path:
    """Where the library of this source and these flags lives in the cache (any compiler's
    library serves: the C ABI is the platform's)."""
    key = hashlib.sha256(SOURCE.read_bytes() + "\0".join(FLAGS).encode())
    suffix = ".dll" if sys.platform == "win32" else ".so"
    return cache_root() / f"seqlm_arpa_lines_{key.hexdigest()[:16]}{suffix}"


def compile_library(path: Path) -> None:
    """Compile the source into `path` (atomically); CWriterUnavailableError if it fails."""
    cc = compiler()
    if shutil.which(cc) is None:
        raise CWriterUnavailableError(f"no C compiler ({cc!r} not found)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, *FLAGS, "-o", tmp, str(SOURCE), "-lm"], capture_output=True,
                              text=True)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise CWriterUnavailableError(f"{cc} failed on {SOURCE.name}: {first}")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@dataclass(frozen=True)
class CLines:
    """The loaded `arpa_lines` function."""

    function: object

    @classmethod
    def load(cls) -> "CLines":
        path = library_path()
        if not path.is_file():
            compile_library(path)
        try:
            function = ctypes.CDLL(str(path)).arpa_lines
        except (OSError, AttributeError) as e:
            raise CWriterUnavailableError(f"{path} does not load ({e}): delete it to rebuild "
                                          "it") from None
        function.restype, function.argtypes = _i64, _ARGTYPES
        return cls(function)

    def write(self, f, prob10: np.ndarray, backoff10: np.ndarray | None,
              words: list[np.ndarray], tokens: tuple[np.ndarray, np.ndarray], reference) -> None:
        """A block's lines into `f`, as `seqlm.ngram.arpa.write_lines` writes them; a line
        holding a value the reference formats in Python goes to `reference(f, prob10,
        backoff10, words)` (`write_lines`), one line long."""
        blob, offsets = tokens
        n = len(prob10)
        prob10 = np.ascontiguousarray(prob10, dtype=np.float32)
        backoff = None if backoff10 is None else np.ascontiguousarray(backoff10, np.float32)
        stacked = np.empty((len(words), n), dtype=np.int64)  # word j of row i at [j, i]
        for j, w in enumerate(words):
            stacked[j] = w
        longest = int((offsets[1:] - offsets[:-1]).max(initial=0))
        line_max = 2 * NUMBER_BYTES + len(words) * (longest + 1) + 2
        out = np.empty(max(BUFFER_BYTES, line_max), dtype=np.uint8)
        rows, stopped = _i64(), _i64()
        done = 0
        while done < n:
            size = self.function(
                done, n, prob10.ctypes.data, None if backoff is None else backoff.ctypes.data,
                len(words), stacked.ctypes.data, blob.ctypes.data, offsets.ctypes.data,
                _POW10F.ctypes.data, line_max, out.ctypes.data, len(out), ctypes.byref(rows),
                ctypes.byref(stopped))
            f.write(out[:size].data)
            done = rows.value
            if stopped.value:  # a value the reference formats in Python
                one = slice(done, done + 1)
                reference(f, prob10[one], None if backoff is None else backoff[one],
                          [w[one] for w in words])
                done += 1


def load(writer: str) -> tuple[CLines | None, str | None]:
    """`writer` (auto | c | numpy) -> (the C lines or None for the NumPy reference, a
    one-line note where auto fell back). "c" raises CWriterUnavailableError instead."""
    if writer == "numpy":
        return None, None
    try:
        return CLines.load(), None
    except CWriterUnavailableError as e:
        if writer == "c":
            raise CWriterUnavailableError(f"--arpa-writer c: {e}; install a C compiler (or set "
                                          "CC), or use --arpa-writer auto or numpy") from None
        return None, f"ARPA lines written by NumPy: {e}"

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
with a one-line note for the build's info). A block's lines are formatted in `threads`
stretches at once (`NgramConfig.train_threads`; the C function holds no GIL) and written in
order. Leaves out: Windows' compilers (auto falls back there).
"""

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlm.cache import cache_root
from seqlm.errors import SeqlmError

SOURCE = Path(__file__).with_name("arpa_lines.c")
FLAGS = ("-O2", "-std=c99", "-fPIC", "-shared")  # c99: no fused multiply-adds, as NumPy's
NUMBER_BYTES = 24  # the longest decimal the C formatter writes: -999. and 16 decimals
BUFFER_BYTES = 1 << 22  # one call's output at most (then the next call)
COMPILE_TIMEOUT_S = 120  # a compiler that hangs is a failed build, not a hung run
MIN_THREAD_LINES = 16_384  # fewer lines per thread cost more to hand out than they save
_POW10F = np.ascontiguousarray(10.0 ** np.arange(-30, 31))  # byte_layout's, passed over

_i64, _ptr = ctypes.c_int64, ctypes.c_void_p
_ARGTYPES = [_i64, _i64, _ptr, _ptr, _i64, _ptr, _i64, _ptr, _ptr, _ptr, _i64, _ptr, _i64,
             ctypes.POINTER(_i64), ctypes.POINTER(_i64)]


class CWriterUnavailableError(SeqlmError):
    """The C writer cannot be built here (no compiler, or a failed build)."""


def compiler() -> str:
    return os.environ.get("CC") or "cc"


def library_path() -> Path:
    """Where the library of this source and these flags lives in the cache, for this kind of
    machine (any compiler's library serves: the C ABI is the platform's)."""
    key = hashlib.sha256(SOURCE.read_bytes() + "\0".join(
        (*FLAGS, sys.platform, platform.machine())).encode())
    suffix = ".dll" if sys.platform == "win32" else ".so"
    return cache_root() / f"seqlm_arpa_lines_{key.hexdigest()[:16]}{suffix}"


def compile_library(path: Path) -> None:
    """Compile the source into `path` (atomically); CWriterUnavailableError if it fails."""
    cc = compiler()
    if shutil.which(cc) is None:
        raise CWriterUnavailableError(f"no C compiler ({cc!r} not found)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:  # a read-only or full cache folder
        raise CWriterUnavailableError(f"cannot write to {path.parent} ({e.strerror}); set "
                                      "SEQLM_KERNEL_DIR to a writable folder") from None
    os.close(fd)
    try:
        done = subprocess.run([cc, *FLAGS, "-o", tmp, str(SOURCE), "-lm"], capture_output=True,
                              text=True, timeout=COMPILE_TIMEOUT_S)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise CWriterUnavailableError(f"{cc} failed on {SOURCE.name}: {first}")
        os.replace(tmp, path)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CWriterUnavailableError(f"{cc} did not build {SOURCE.name} ({e})") from None
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
              words: list[np.ndarray], tokens: tuple[np.ndarray, np.ndarray], reference,
              threads: int = 1) -> None:
        """A block's lines into `f`, as `seqlm.ngram.arpa.write_lines` writes them; a line
        holding a value the reference formats in Python goes to `reference(f, prob10,
        backoff10, words)` (`write_lines`), one line long. `threads` > 1 formats that many
        stretches of the block at once (the C function runs without the GIL), written in
        order: the same bytes."""
        block = Block.of(prob10, backoff10, words, tokens)
        n = len(prob10)
        parts = min(threads, n // MIN_THREAD_LINES)
        if parts > 1:
            cuts = [n * i // parts for i in range(parts + 1)]
            done: list = [None] * parts  # each stretch's pieces, or what it raised

            def stretch(i: int) -> None:
                try:
                    done[i] = list(self.pieces(block, cuts[i], cuts[i + 1], fresh=True))
                except BaseException as e:  # noqa: BLE001 (raised again below, in this thread)
                    done[i] = e

            workers = [threading.Thread(target=stretch, args=(i,)) for i in range(1, parts)]
            for w in workers:
                w.start()
            stretch(0)
            for w in workers:
                w.join()
            for part in done:
                if isinstance(part, BaseException):
                    raise part
            pieces = (piece for part in done for piece in part)
        else:
            pieces = self.pieces(block, 0, n, fresh=False)
        for piece in pieces:
            if isinstance(piece, int):  # a line holding a value the reference formats
                one = slice(piece, piece + 1)
                reference(f, block.prob10[one], None if block.backoff10 is None else
                          block.backoff10[one], [w[one] for w in words])
            else:
                f.write(piece)

    def pieces(self, block: "Block", first: int, last: int, fresh: bool):
        """Lines [first, last) as views of filled buffers (`fresh`: each its own buffer, else
        one buffer written again after each piece is used), and the row numbers of lines
        the reference writes."""
        out = None
        rows, stopped = _i64(), _i64()
        while first < last:
            if out is None or fresh:
                out = np.empty(max(BUFFER_BYTES, block.line_max), dtype=np.uint8)
            size = self.function(
                first, last, block.prob10.ctypes.data,
                None if block.backoff10 is None else block.backoff10.ctypes.data,
                len(block.words), block.words.ctypes.data, block.words.shape[1],
                block.blob.ctypes.data, block.offsets.ctypes.data, _POW10F.ctypes.data,
                block.line_max, out.ctypes.data, len(out), ctypes.byref(rows),
                ctypes.byref(stopped))
            if size:
                yield out[:size].data
            first = rows.value
            if stopped.value:
                yield first
                first += 1


@dataclass(frozen=True)
class Block:
    """A block's arrays as the C function reads them."""

    prob10: np.ndarray  # (n,) float32
    backoff10: np.ndarray | None  # (n,) float32
    words: np.ndarray  # (k, n) int64: word j of row i at [j, i]
    blob: np.ndarray  # the tokens' bytes, one after another
    offsets: np.ndarray  # (V+1,) int64: where each token starts in blob
    line_max: int  # the most bytes a line can take

    @classmethod
    def of(cls, prob10, backoff10, words, tokens) -> "Block":
        blob, offsets = tokens
        stacked = np.empty((len(words), len(prob10)), dtype=np.int64)
        for j, w in enumerate(words):
            stacked[j] = w
        longest = int((offsets[1:] - offsets[:-1]).max(initial=0))
        return cls(np.ascontiguousarray(prob10, dtype=np.float32),
                   None if backoff10 is None else np.ascontiguousarray(backoff10, np.float32),
                   stacked, blob, offsets, 2 * NUMBER_BYTES + len(words) * (longest + 1) + 2)


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

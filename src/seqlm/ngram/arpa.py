"""ARPA files: the n-gram interchange format (Paul & Baker 1992), written as KenLM writes it.

    \\data\\
    ngram 1=M1
    ...
    \\1-grams:
    log10 p(w)<TAB>w<TAB>log10 backoff(w)
    ...
    \\N-grams:
    log10 p(w_N | w_1 … w_N-1)<TAB>w_1 … w_N
    \\end\\

`write_arpa` writes any model of the backoff form (mle, kn, mkn): interpolated probabilities
and log10 gamma as backoffs reproduce the model; every number is the shortest decimal that
reads back as the same float32, as KenLM prints it (KenLM loads floats: a `precision="kenlm"`
model is written exactly, a double one to float32's 7 digits); a backoff of 0 is left out,
p = 0 (`<s>`, MLE's unseen words) is written as -99 (a `precision="kenlm"` model gives `<s>`
p = 1, written 0, as lmplz does), and a `# seqlm unit=... smoothing=...` comment line before
`\\data\\` (which KenLM accepts) records the token unit; `seqlm.ngram.arpa_read` reads any
ARPA file back. Add-k and stupid backoff cannot be written (`seqlm.ngram.tables`).

Writing streams: each order is cut into blocks, each block's lines are laid out as byte
matrices (`seqlm.ngram.byte_layout`) and appended to the file, so a model estimated in
bounded memory is written in bounded memory too. An n-gram's words are its parent's words
plus its last word; the parents of a block are one contiguous, sorted stretch of the order
below, whose word columns are kept (spilled under a memory budget). A block's lines come
from one of three writers, the same bytes from each (`block_writer`): the byte matrices
here (the reference), the C lines of `seqlm.ngram.arpa_c` (the NumPy engine's default where
a C compiler is found), or the compiled engine's kernels (`seqlm.ngram.compiled`).

Tokens that ARPA would split (char and byte units: the space and other whitespace, and bytes
outside printable ASCII) are written escaped: ` ` as `<sp>`, other whitespace characters as
`<U+XXXX>`, bytes as `<0xXX>`. Leaves out: gzip'd ARPA.
"""

import functools
import re
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.metrics import LN10
from seqlm.ngram import byte_layout, trie
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.runs import gather
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.stream import NGRAM_SPECIALS
from seqlm.ngram.tables import BackoffTables
from seqlm.progress import Progress, ProgressCallback, report

LOG10_ZERO = -99.0  # what ARPA writers use for log10 0
SPACE = "<sp>"
_ESCAPED = re.compile(r"^<(?:U\+([0-9A-F]{4,6})|0x([0-9A-F]{2}))>$")
WRITE_ROW_BYTES = 512  # a line's decimals, words and (per LINE_ROWS) byte matrix row
LINE_ROWS = 1 << 14
ZERO_MARK = 0
TAB, BLANK, NEWLINE = ord("\t"), ord(" "), ord("\n")


def escape(token: str, unit: str) -> str:
    """A token as it appears in an ARPA file (see the module docstring)."""
    if unit == "word" or token in NGRAM_SPECIALS:
        return token
    if token == " ":
        return SPACE
    if unit == "byte" and not (0x21 <= ord(token) <= 0x7E):
        return f"<0x{ord(token):02X}>"
    if token.isspace() or not token.isprintable():
        return f"<U+{ord(token):04X}>"
    return token


def unescape(token: str, unit: str) -> str:
    if unit == "word" or len(token) == 1 or token in NGRAM_SPECIALS:
        return token
    if token == SPACE:
        return " "
    m = _ESCAPED.match(token)
    if m is None:
        raise ValueError(token)
    return chr(int(m.group(1) or m.group(2), 16))


def to_log10(nats: np.ndarray) -> np.ndarray:
    """Nats to log10 as float32, the precision of ARPA numbers, with p = 0 written as -99."""
    return np.where(np.isneginf(nats), LOG10_ZERO, nats / LN10).astype(np.float32)


def header(t: BackoffTables) -> bytes:
    return (f"# seqlm unit={t.unit} order={t.order} smoothing={t.smoothing}\n\n\\data\\\n"
            + "".join(f"ngram {k}={n}\n" for k, n in enumerate(t.sizes(), 1))).encode()


def lines(numbers: np.ndarray, words: list[np.ndarray], backoffs: np.ndarray | None,
          tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes of one block's lines, `prob<TAB>w1 ... wk[<TAB>backoff]<NL>` each, from the
    decimals of log10 p (n, W) and of the backoffs (n, W'; all PAD where left out)."""
    widths = [max(int(lengths[w].max(initial=1)), 1) for w in words]
    width = numbers.shape[1] + sum(widths) + len(words) + 1 + (
        0 if backoffs is None else backoffs.shape[1])  # tab and decimals (the mark's column)
    rows = np.empty((len(numbers), width), dtype=np.uint8)
    col = numbers.shape[1]
    rows[:, :col] = numbers
    for j, (w, wj) in enumerate(zip(words, widths, strict=True)):
        rows[:, col] = TAB if j == 0 else BLANK
        rows[:, col + 1:col + 1 + wj] = np.take(tokens, w, axis=0)[:, :wj]
        col += 1 + wj
    if backoffs is not None:  # a backoff of 0 is left out, tab and all
        rows[:, col] = np.where(backoffs[:, -1] == ZERO_MARK, byte_layout.PAD, TAB)
        rows[:, col + 1:col + backoffs.shape[1]] = backoffs[:, :-1]
        col += backoffs.shape[1]
    rows[:, col] = NEWLINE
    return byte_layout.compact(rows)


def backoff_decimals(backoff10: np.ndarray) -> np.ndarray:
    """Decimals of the backoffs (n, W+1): rows of 0 backoffs all PAD, marked by a last byte
    ZERO_MARK so that `lines` drops their tab too."""
    return byte_layout.distinct_rows(backoff10, backoff_rows)


def backoff_rows(backoff10: np.ndarray) -> np.ndarray:
    number = byte_layout.decimal_matrix(backoff10)
    out = np.empty((len(number), number.shape[1] + 1), dtype=np.uint8)
    out[:, :-1] = number
    out[:, -1] = byte_layout.PAD
    zero = backoff10 == 0
    out[zero] = byte_layout.PAD
    out[zero, -1] = ZERO_MARK
    return out


def section(f, t: BackoffTables, k: int, parent_words: list[Column], ws: Workspace,
            write_block) -> list[Column]:
    """Write the order-k section, each block's lines by `write_block(f, prob10, backoff10,
    words)`; return the word columns of its n-grams (for order k+1)."""
    keep_words = k < t.order
    writers = [ws.writer(np.int32, f"words{k}-{j}") for j in range(k)] if keep_words else []
    rows = min(ws.budget.rows(WRITE_ROW_BYTES, share=0.25), 1 << 18)
    for lo, keys in in_blocks(t.keys[k - 1], rows):
        hi = lo + len(keys)
        if k == 1:
            words = [keys]
        else:
            parents = trie.parents(keys, t.V)
            words = [gather(w, parents, ws) for w in parent_words] + [trie.last_words(keys, t.V)]
        prob10 = to_log10(t.logp[k - 1].read(lo, hi))
        backoff10 = to_log10(t.backoff[k - 1].read(lo, hi)) if k < t.order else None
        write_block(f, prob10, backoff10, words)
        for w, words_j in zip(writers, words, strict=False):  # none at the highest order
            w.append(words_j)
    return [w.finish() for w in writers]


def write_lines(f, prob10: np.ndarray, backoff10: np.ndarray | None, words: list[np.ndarray],
                tokens: np.ndarray, lengths: np.ndarray) -> None:
    """A block's lines through the byte matrices (the NumPy engine, the reference)."""
    numbers = byte_layout.distinct_rows(prob10)  # decimals: each value once where few differ
    backoffs = None if backoff10 is None else backoff_decimals(backoff10)
    for a in range(0, len(prob10), LINE_ROWS):  # lines: small blocks stay in cache
        b = a + LINE_ROWS
        f.write(lines(numbers[a:b], [w[a:b] for w in words],
                      None if backoffs is None else backoffs[a:b], tokens, lengths))


def in_blocks(column: Column, rows: int):
    """(lo, rows [lo, lo + rows)) of a column; small blocks even in memory keep the byte
    matrices in cache."""
    for lo in range(0, len(column), rows):
        yield lo, column.read(lo, lo + rows)


def write_tables(t: BackoffTables, path: str | Path, ws: Workspace | None = None,
                 progress: ProgressCallback | None = None, engine: str = "numpy",
                 threads: int = 1, c_lines=None) -> Path:
    """Write the tables as an ARPA file (atomically), order by order, block by block; engine
    "numba" writes the same bytes with `seqlm.ngram.compiled` (in `threads` threads), engine
    "numpy" with `c_lines` where given (`seqlm.ngram.arpa_c.load`, in `threads` threads too),
    else the reference."""
    ws = ws or Workspace(MemoryBudget())
    escaped = [escape(tok, t.unit).encode("utf-8") for tok in t.vocab.tokens]
    write_block = block_writer(escaped, engine, threads, c_lines)

    def write(f) -> None:
        f.write(header(t))
        words: list[Column] = []
        for k in range(1, t.order + 1):
            report(progress, Progress("write ARPA", k - 1, t.order, unit="order"))
            f.write(f"\n\\{k}-grams:\n".encode())
            words = section(f, t, k, words, ws, write_block)
        f.write(b"\n\\end\\\n")
        report(progress, Progress("write ARPA", t.order, t.order, unit="order"))

    try:
        return atomic_write(path, write)
    except OSError as e:
        if ws.folder is not None and e.filename and str(ws.folder) in str(e.filename):
            raise ws.disk_error(e) from None
        raise


def block_writer(escaped: list[bytes], engine: str, threads: int, c_lines):
    """`write_block(f, prob10, backoff10, words)` of the engine: the compiled kernels, the C
    lines (`seqlm.ngram.arpa_c`, which hand the lines NumPy formats in Python to the
    reference), or the reference (`write_lines`); the same bytes from each."""
    if engine == "numba":
        from seqlm.ngram.compiled import arpa_block, token_blob

        blob = token_blob(escaped)
        return lambda f, prob10, backoff10, words: f.write(
            arpa_block(prob10, backoff10, words, blob, threads))
    matrix = functools.cache(lambda: byte_layout.token_matrix(escaped))  # only where needed

    def reference(f, prob10, backoff10, words) -> None:
        write_lines(f, prob10, backoff10, words, *matrix())

    if c_lines is None:
        return reference
    blob = byte_layout.token_blob(escaped)
    return lambda f, prob10, backoff10, words: c_lines.write(f, prob10, backoff10, words, blob,
                                                             reference, threads)


def write_arpa(model, path: str | Path) -> Path:
    """Write an in-memory `NgramModel` of the backoff form as an ARPA file (atomically)."""
    return write_tables(BackoffTables.of_model(model), path)

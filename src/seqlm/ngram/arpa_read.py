"""Reading ARPA files: any writer's (KenLM's, SRILM's, seqlm's) into an `NgramModel`.

The format is described in `seqlm.ngram.arpa`. Whitespace separates fields; n-grams may come
in any order within a section; lines starting with `#` before `\\data\\` are comments (a
`# seqlm unit=char` line tells the token unit). Every n-gram's context must be among the
lower-order n-grams (as KenLM and SRILM write them). `<s>` is never predicted, whatever its
line says; a file without `<unk>` gets log10 p(`<unk>`) = -100, KenLM's choice.

A section is read at once, not line by line: NumPy finds where every field starts and ends
and counts the fields of each line (so a line with too many or too few is named), `float`
parses the numbers through `map`, every word is found among the unigrams by its hash
(`seqlm.ngram.vocab_hash.byte_keys`, trusted as KenLM trusts its own), and each n-gram's
context is found among the keys of the order below by binary search.

Values KenLM refuses are refused, naming the file and line: a probability that is NaN, +inf
or positive (log10 p > 0: p above 1), a backoff that is NaN or infinite. -inf is accepted
only for `<s>` (never predicted; lmplz writes 0 there, SRILM -99). Any other malformed line
raises `SeqlmError` naming the file and line. Leaves out: gzip'd files.
"""

import re
from pathlib import Path

import numpy as np

from seqlm.config.ngram import check_precision, check_unit
from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram import trie
from seqlm.ngram.arpa import unescape
from seqlm.ngram.model import NgramModel
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.stream import BOS, UNK, NgramVocab
from seqlm.ngram.vocab_hash import HashedIds, byte_keys

UNK_MISSING_LOG10 = -100.0  # KenLM's log10 p(<unk>) for a file without <unk>
WHITESPACE = b" \t\n\r\x0b\x0c"  # ASCII whitespace, what separates fields
SPACE = np.zeros(256, dtype=bool)
SPACE[list(WHITESPACE)] = True
POW10 = 10.0 ** np.arange(23)  # exact in float64
BLOCK = 1 << 15  # numbers parsed at once: the temporaries stay in cache


class ArpaText:
    """The bytes of an ARPA file and its non-blank lines, read in order."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = path.read_bytes()
        except FileNotFoundError:
            raise SeqlmError(f"ARPA file {path} does not exist: give the path of an ARPA "
                             "file, or train one with `seqlm ngram train --arpa FILE`") from None
        except (IsADirectoryError, PermissionError) as e:
            raise SeqlmError(f"cannot read {path} ({e.strerror}): give an ARPA file") from None
        try:
            self.data.isascii() or self.data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = self.data.count(b"\n", 0, e.start) + 1
            raise SeqlmError(f"{path} line {line} is not UTF-8: an ARPA file is UTF-8 text "
                             f"({e.reason} at byte {e.start})") from None
        self.buf = np.frombuffer(self.data + bytes(8), dtype=np.uint8)  # slack for byte_keys
        ends = np.flatnonzero(self.buf[:len(self.data)] == 10)
        self.starts = np.concatenate([[0], ends + 1])
        self.ends = np.append(ends, len(self.data))
        suspect = np.flatnonzero((self.ends == self.starts) | SPACE[self.buf[self.starts]])
        blank = [i for i in suspect.tolist() if not self.data[self.starts[i]:self.ends[i]].strip()]
        keep = np.ones(len(self.starts), dtype=bool)
        keep[blank] = False
        self.nonblank = np.flatnonzero(keep)  # file line index of each non-blank line
        self.pos = 0  # the next non-blank line to read

    def number(self, i: int) -> int:
        """The file's line number (from 1) of non-blank line i."""
        return int(self.nonblank[i]) + 1

    def text(self, i: int) -> str:
        line = self.nonblank[i]
        return self.data[self.starts[line]:self.ends[line]].decode("utf-8").strip()

    def error(self, message: str, i: int | None = None) -> SeqlmError:
        i = self.pos - 1 if i is None else i
        return SeqlmError(f"{self.path} line {self.number(i)}: {message}")

    def next_line(self) -> str:
        if self.pos >= len(self.nonblank):
            raise SeqlmError(f"{self.path} line {len(self.starts)}: the file ends early: an "
                             "ARPA file ends with \\end\\")
        self.pos += 1
        return self.text(self.pos - 1)


def read_header(src: ArpaText) -> tuple[list[int], dict[str, str]]:
    """The n-gram counts of `\\data\\` and the `# seqlm key=value` hints before it."""
    hints: dict[str, str] = {}
    line = src.next_line()
    while line.startswith("#"):
        hints.update(kv.split("=", 1) for kv in line[1:].split() if "=" in kv)
        line = src.next_line()
    if line != "\\data\\":
        raise src.error(f"expected \\data\\ to open an ARPA file, found {line[:40]!r}")
    sizes = []
    while True:
        line = src.next_line()
        m = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", line)
        if m is None:
            break
        if int(m.group(1)) != len(sizes) + 1:
            raise src.error(f"expected the count of {len(sizes) + 1}-grams, found {line!r}")
        sizes.append(int(m.group(2)))
    if not sizes:
        raise src.error("\\data\\ lists no `ngram 1=COUNT` line")
    src.pos -= 1  # the section header is read again by read_section
    return sizes, hints


class Section:
    """One order's lines; `blocks()` reads them a block at a time as `Fields`."""

    def __init__(self, src: ArpaText, k: int, n: int, highest: bool):
        header = src.next_line()
        if header != f"\\{k}-grams:":
            raise src.error(f"expected the section header \\{k}-grams:, found {header[:40]!r}")
        if src.pos + n > len(src.nonblank):
            raise SeqlmError(f"{src.path} line {len(src.starts)}: the file ends early: the "
                             f"header promises {n} {k}-grams")
        self.src, self.k, self.highest, self.first_line = src, k, highest, src.pos
        self.lines = src.nonblank[src.pos:src.pos + n]
        src.pos += n

    def __len__(self) -> int:
        return len(self.lines)

    def blocks(self):
        for row in range(0, len(self.lines), BLOCK):
            yield Fields(self, row, self.lines[row:row + BLOCK])


class Fields:
    """The fields of a block of a section's lines: where each starts and ends in the file's
    bytes (a block at a time, so the temporaries stay small and in cache)."""

    def __init__(self, sec: Section, row: int, lines: np.ndarray):
        self.sec, self.row, self.src, k = sec, row, sec.src, sec.k
        self.starts, self.ends = field_bounds(self.src.buf, int(self.src.starts[lines[0]]),
                                              int(self.src.ends[lines[-1]]))
        counts = (np.searchsorted(self.starts, self.src.ends[lines])
                  - np.searchsorted(self.starts, self.src.starts[lines]))
        self.has_backoff = (counts == k + 2) & (not sec.highest)
        bad = np.flatnonzero((counts != k + 1) & ~self.has_backoff)
        if len(bad):
            raise self.error(f"expected log10 p, {k} word(s)" + ("" if sec.highest else
                             " and an optional backoff") + f", found {counts[bad[0]]} fields "
                             "(the header's n-gram count may be wrong)", bad[0])
        self.first = np.cumsum(counts) - counts  # field index of each line's first field

    def __len__(self) -> int:
        return len(self.first)

    def error(self, message: str, row: int) -> SeqlmError:
        return self.src.error(message, self.sec.first_line + self.row + int(row))

    def field(self, row: int, j: int) -> str:
        i = int(self.first[row]) + j
        return self.src.data[self.starts[i]:self.ends[i]].decode("utf-8")

    def name(self, row: int, words: int) -> str:
        """The first `words` words of a line, as text."""
        return " ".join(self.field(row, j) for j in range(1, 1 + words))

    def texts(self, j: int, rows: np.ndarray | None = None) -> list[bytes]:
        """Field j of the lines `rows` (default all) as bytes."""
        index = self.first + j if rows is None else self.first[rows] + j
        return list(map(self.src.data.__getitem__, map(slice, self.starts[index].tolist(),
                                                         self.ends[index].tolist())))

    def keys(self, j: int) -> np.ndarray:
        """The hash of field j of every line (`seqlm.ngram.vocab_hash.byte_keys`)."""
        return byte_keys(self.src.buf, self.starts[self.first + j], self.ends[self.first + j])

    def numbers(self, j: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Field j of the lines `rows` (default all) as float64; a bad one names its line.
        Plain decimals are parsed in NumPy, anything else (1e-5, nan, inf) by `float`."""
        rows = np.arange(len(self)) if rows is None else rows
        index = self.first[rows] + j
        values, plain = parse_decimals(self.src.buf, self.starts[index], self.ends[index])
        odd = np.flatnonzero(~plain)
        for at, row, text in zip(odd.tolist(), rows[odd].tolist(), self.texts(j, rows[odd]),
                                 strict=True):
            try:
                values[at] = float(text)
            except ValueError:
                raise self.error(f"not a number: {text.decode('utf-8')[:40]!r}", row) from None
        return values

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """log10 p and log10 backoff (0 where none) of every line, refusing what KenLM does."""
        probs = self.numbers(0)
        backoffs = np.zeros(len(self))
        rows = np.flatnonzero(self.has_backoff)
        backoffs[rows] = self.numbers(self.sec.k + 1, rows)
        for bad, what in ((np.isnan(probs), "log10 probability is NaN"),
                          (probs > 0, "log10 probability is positive (a probability above 1; "
                                      "KenLM refuses it too)"),
                          (~np.isfinite(backoffs), "backoff is NaN or infinite (KenLM refuses "
                                                   "it too)")):
            if bad.any():
                raise self.error(what, np.flatnonzero(bad)[0])
        return probs, backoffs


def parse_decimals(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """float64 of the numbers `[-]digits[.digits]` at buf[starts:ends] (N,), and which were
    plain decimals of at most 15 digits (the rest are for `float`). A mantissa below 2**53 over
    an exact power of ten is divided once, correctly rounded: the value `float` would give."""
    neg = buf[starts] == ord("-")
    first = starts + neg
    mantissa, decimals = np.zeros(len(starts)), np.zeros(len(starts), dtype=np.int64)
    digits = np.zeros(len(starts), dtype=np.int64)
    point = np.zeros(len(starts), dtype=bool)
    plain = ends > first
    length = ends - first
    for c in range(int(length.max(initial=0))):
        here = c < length
        b = buf[first + c]
        d = b - np.uint8(48)  # wraps above 9 for anything but a digit
        is_digit = here & (d < 10)
        is_point = here & (b == ord(".")) & ~point
        plain &= ~here | is_digit | is_point
        np.multiply(mantissa, 10, out=mantissa, where=is_digit)
        np.add(mantissa, d, out=mantissa, where=is_digit)
        decimals += is_digit & point
        digits += is_digit
        point |= is_point
    plain &= (digits > 0) & (digits <= 15)
    values = mantissa / POW10[np.minimum(decimals, 22)]
    return np.where(neg, -values, values), plain


def field_bounds(buf: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each whitespace-separated field of buf[lo:hi] starts and ends (absolute)."""
    if hi <= lo:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    window = buf[lo - (lo > 0):hi + 1]  # one byte of context either side
    space = (window == 32) | ((window - np.uint8(9)) < 5)  # = WHITESPACE: 32 and 9..13
    if lo == 0:
        space = np.concatenate([[True], space])
    space[0] = space[-1] = True  # lines start after a newline; the last field ends at hi
    change = np.flatnonzero(space[1:] != space[:-1]) + lo  # between change and change + 1
    return change[0::2], change[1::2]  # space -> field, field -> space, in turn


def unigram_vocab(sec: Section, unit: str,
                  ) -> tuple[NgramVocab, np.ndarray, HashedIds, np.ndarray, np.ndarray]:
    """The vocabulary (specials first), each unigram line's word id, the words' hashes (as
    written, escaped) -> id, and each line's log10 p and backoff."""
    raw, keys, probs, backoffs = [], [], [], []
    for block in sec.blocks():
        raw += block.texts(1)
        keys.append(block.keys(1))
        p, b = block.values()
        probs.append(p)
        backoffs.append(b)
    first = next(sec.blocks(), None)
    try:
        words = [unescape(w.decode("utf-8"), unit) for w in raw]
    except ValueError as e:
        raise first.error(f"{e} is not one {unit} token: pass the unit the model was trained "
                          "with (--unit)", 0) from None
    for special in (BOS, "</s>"):
        if special not in words:
            raise first.error(f"the unigrams lack {special}: not a sentence-level ARPA model", 0)
    if len(set(words)) != len(words):
        seen: set[str] = set()
        for row, w in enumerate(words):
            if w in seen:
                raise sec.src.error(f"the unigram {w!r} appears twice", sec.first_line + row)
            seen.add(w)
    vocab = NgramVocab(words + ([] if UNK in words else [UNK]))
    ids = np.array([vocab.index[w] for w in words], dtype=np.int64)
    keys = np.concatenate(keys)
    order = np.argsort(keys, kind="stable")
    if np.any(np.diff(keys[order]) == 0):
        raise first.error("two unigrams share a 64-bit hash: this file cannot be read", 0)
    hashed = HashedIds(keys[order], ids[order], ProbingIndex(keys[order]))
    return vocab, ids, hashed, np.concatenate(probs), np.concatenate(backoffs)


def read_arpa(path: str | Path, unit: str | None = None, precision: str = "double",
              ) -> NgramModel:
    """Read an ARPA file into a model of the backoff form; `unit` defaults to the file's
    `# seqlm unit=` hint, else word. precision "kenlm" keeps each number as the float32 KenLM
    loads and sums perplexities as its `query` does (`seqlm.ngram.single_precision`)."""
    check_precision(precision)
    src = ArpaText(Path(path))
    sizes, hints = read_header(src)
    unit = check_unit(unit or hints.get("unit", "word"))
    order = len(sizes)
    sec = Section(src, 1, sizes[0], order == 1)
    vocab, ids, word_ids, probs, backoffs = unigram_vocab(sec, unit)
    infinite = np.flatnonzero(np.isinf(probs) & (ids != vocab.index[BOS]))
    if len(infinite):
        raise src.error("log10 probability is -inf: only <s> may have it (write -99 for a "
                        "probability of zero)", sec.first_line + int(infinite[0]))
    V = len(vocab)
    logp1 = np.full(V, UNK_MISSING_LOG10)
    logp1[ids] = probs
    logp1[vocab.index[BOS]] = -np.inf  # <s> is never predicted, whatever the file says
    backoff1 = np.zeros(V)
    backoff1[ids] = backoffs
    keys, logp, backoff = [np.arange(V, dtype=np.int64)], [logp1], [backoff1]
    for k in range(2, order + 1):
        key, rank, probs, backoffs = read_order(Section(src, k, sizes[k - 1], k == order),
                                                word_ids, keys, V)
        keys.append(key)
        logp.append(probs[rank])
        if k < order:
            backoff.append(backoffs[rank])
    end = src.next_line()
    if end != "\\end\\":
        raise src.error(f"expected \\end\\ after the {order}-grams, found {end[:40]!r} (the "
                        "header's n-gram counts may be too small)")
    if precision == "kenlm":
        logp = [np.asarray(lp, dtype=np.float32) for lp in logp]
        backoff = [np.asarray(b, dtype=np.float32) for b in backoff]
    return NgramModel(vocab=vocab, unit=unit, order=order,
                      smoothing=hints.get("smoothing", "arpa"), form="backoff", keys=keys,
                      logp=[np.asarray(lp, dtype=np.float64) * LN10 for lp in logp],
                      backoff=[np.asarray(b, dtype=np.float64) * LN10 for b in backoff],
                      info={"counts": sizes, "source": str(path)}, precision=precision)


def read_order(sec: Section, word_ids: HashedIds, keys: list[np.ndarray], V: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys of one order's n-grams, for each key the line it came from, and each
    line's log10 p and backoff."""
    parts = []
    for block in sec.blocks():
        probs, backoffs = block.values()
        if np.isinf(probs).any():
            raise block.error("log10 probability is -inf: write -99 for a probability of zero",
                              np.flatnonzero(np.isinf(probs))[0])
        parts.append((block_keys(block, word_ids, keys, V), probs, backoffs))
    if not parts:  # `ngram k=0`: an empty order (KenLM reads it; pruning can write it)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    key, probs, backoffs = (np.concatenate([p[j] for p in parts]) for j in range(3))
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(np.diff(key[order]) == 0)
    if len(dup):
        row = int(order[dup[0] + 1])
        block = next(b for b in sec.blocks() if b.row <= row < b.row + BLOCK)
        raise block.error(f"the n-gram {block.name(row - block.row, sec.k)!r} appears twice",
                          row - block.row)
    return key[order], order, probs, backoffs


def block_keys(block: Fields, word_ids: HashedIds, keys: list[np.ndarray], V: int,
               ) -> np.ndarray:
    """The key of each line's n-gram: its words found by hash, its context among the keys
    of the orders below."""
    k = block.sec.k
    words = []
    for j in range(1, k + 1):
        ids = word_ids.find(block.keys(j))
        if (ids < 0).any():
            row = int(np.flatnonzero(ids < 0)[0])
            raise block.error(f"the word {block.field(row, j)!r} is not among the unigrams", row)
        words.append(ids)
    context = words[0]
    for j in range(2, k):  # the context's id, one order at a time
        found = trie.find(keys[j - 1], trie.pack(np.maximum(context, 0), words[j - 1], V))
        context = np.where(context < 0, -1, found)
    if (context < 0).any():
        row = int(np.flatnonzero(context < 0)[0])
        raise block.error(f"the context {block.name(row, k - 1)!r} of this n-gram is not among "
                          f"the {k - 1}-grams", row)
    return trie.pack(context, words[-1], V)

"""Training text -> the id stream, read in pieces of whole lines, the vocabulary growing as
it goes (`lmplz`'s first pass).

A training source is a string or a UTF-8 file; either is cut into pieces of about `chars`
characters that end at a line end, so no sentence straddles two pieces and the Python token
list of one piece is all that lives at once (a corpus larger than memory streams through).
Each piece becomes ids with `<s>` and `</s>` around every line (the KenLM rules of
`seqlm.ngram.stream`); a token never seen before gets the next id, so ids follow first
appearance, the order `lmplz` writes its unigrams in. The ids go to a `Column`
(`seqlm.ngram.spill`), with the row where each piece starts: every piece boundary is a
sentence start, so counting can cut the stream there. Engine "numba" encodes each piece in one
compiled scan instead (`seqlm.ngram.compiled_reading`, the same ids).
Leaves out: other encodings than UTF-8, and KenLM's `--limit_vocab_file`.
"""

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from seqlm.data.vocab import BOS, EOS, UNK
from seqlm.errors import SeqlmError
from seqlm.ngram.budget import MemoryBudget, format_bytes
from seqlm.ngram.engine import resolve
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_SPECIALS, NgramVocab
from seqlm.ngram.text_ids import sentences, token_spans
from seqlm.ngram.vocab_hash import byte_keys, token_keys
from seqlm.progress import Progress, ProgressCallback, report

_NEW, _SKIP = -1, -3  # markers while encoding
PIECE_CHARS = 1 << 22  # without a budget: the token list of 4M characters at most
MAX_LINE_CHARS = 1 << 24  # without a budget: the longest line read (~1 GiB while it is encoded)
LINE_ROW_BYTES = 64  # per character of a piece while it is encoded: spans, keys, unique's copies


@dataclass(frozen=True)
class IdStream:
    """The training stream `<s> a b </s> <s> c </s> ...` as int32 ids, and `bounds`, rows
    where a piece (and so a sentence) starts, with the end row last."""

    ids: Column
    bounds: list[int]
    lines: int

    def __len__(self) -> int:
        return len(self.ids)

    def chunks(self, rows: int) -> list[tuple[int, int]]:
        """Sentence-aligned row ranges of about `rows` rows (more where one piece is longer)."""
        out, lo = [], 0
        for b in self.bounds[1:]:
            if b - lo >= rows or b == self.bounds[-1]:
                out.append((lo, b))
                lo = b
        return out or [(0, 0)]


class TrainingEncoder:
    """Text -> ids for training, adding unseen tokens in order of first appearance.

    Tokens are found as byte spans and hashed in NumPy (`seqlm.ngram.text_ids`,
    `seqlm.ngram.vocab_hash`); only each distinct token of a piece is looked up in Python, and
    only a new one is decoded. Like lmplz, two words are one word if their 63-bit hashes
    agree (odds ~V^2 / 2^64). Literal `<s>`, `</s>` and `<unk>` are whitespace (KenLM's
    `--skip_symbols`)."""

    def __init__(self, unit: str):
        self.unit = unit
        self.tokens: list[str] = list(NGRAM_SPECIALS)
        skip = token_keys([BOS, EOS, UNK]).tolist() if unit == "word" else []
        self.lookup: dict[int, int] = dict.fromkeys(skip, _SKIP)  # token hash -> id

    def encode(self, piece: str) -> np.ndarray:
        """Ids of whole lines with `<s>` and `</s>` (T,) int32."""
        data = piece.encode("utf-8")
        buf = np.frombuffer(data + bytes(8), dtype=np.uint8)  # slack for 8-byte reads
        starts, ends = token_spans(buf, len(data), "byte" if self.unit == "byte" else self.unit)
        keys = buf[starts].astype(np.int64) if self.unit == "byte" else byte_keys(buf, starts,
                                                                                    ends)
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        ids = np.fromiter(map(self.lookup.get, distinct.tolist(), repeat(_NEW)), dtype=np.int32,
                          count=len(distinct))
        new = np.flatnonzero(ids == _NEW)
        new = new[np.argsort(first[new], kind="stable")]  # in order of first appearance
        ids[new] = np.arange(len(self.tokens), len(self.tokens) + len(new), dtype=np.int32)
        self.lookup.update(zip(distinct[new].tolist(), ids[new].tolist(), strict=True))
        self.tokens.extend(data[s:e].decode("utf-8" if self.unit != "byte" else "latin-1")
                           for s, e in zip(starts[first[new]].tolist(),
                                           ends[first[new]].tolist(), strict=True))
        flat = ids[inverse.ravel()]
        keep = flat != _SKIP
        return sentences(flat[keep], starts[keep], buf, len(data))[0]

    def vocab(self) -> NgramVocab:
        return NgramVocab(self.tokens[len(NGRAM_SPECIALS):])


def string_pieces(text: str, chars: int, max_line: int = sys.maxsize) -> Iterator[str]:
    """`text` in pieces of about `chars` characters, each ending at a line end; a line longer
    than `max_line` characters raises `LineTooLongError`."""
    start = 0
    while start < len(text):
        cut_at = text.find("\n", min(start + chars, len(text)) - 1)
        end = len(text) if cut_at < 0 else cut_at + 1
        last = max(start, text.rfind("\n", start, end - 1) + 1)  # the last line starts here
        if end - last > max_line:
            raise LineTooLongError(text.count("\n", 0, last) + 1)
        yield text[start:end]
        start = end


def file_pieces(path: Path, chars: int, max_line: int = sys.maxsize) -> Iterator[str]:
    """A UTF-8 file in pieces of about `chars` bytes, each ending at a line end; a line longer
    than `max_line` bytes raises `LineTooLongError`."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below, also on errors)
    except FileNotFoundError:
        raise SeqlmError(f"{path} does not exist: give the path of a UTF-8 text file") from None
    except (IsADirectoryError, PermissionError) as e:
        raise SeqlmError(f"cannot read {path} ({e.strerror}): give a readable text file") from None
    offset, carry, lines = 0, b"", 0
    with f:
        while True:
            block = f.read(max(chars, 1))
            data = carry + block
            end = data.rfind(b"\n") + 1 if block else len(data)
            if end == 0 and block:
                if len(data) > max_line:  # bounded: never hold a line past the limit
                    raise LineTooLongError(lines + 1)
                carry = data  # a line longer than the block: read on
                continue
            try:
                piece = data[:end].decode("utf-8")
            except UnicodeDecodeError as e:
                raise SeqlmError(f"{path} is not valid UTF-8 (byte {offset + e.start}): convert "
                                 "it to UTF-8 first (e.g. iconv)") from None
            lines += piece.count("\n")
            yield piece
            offset += end
            carry = data[end:]
            if not block:
                return


class LineTooLongError(Exception):
    """A line past the longest a read holds at once (its number, from 1)."""

    def __init__(self, line: int):
        self.line = line


def line_limit(budget: MemoryBudget) -> int:
    """The longest line (characters) a read holds at once: `LINE_ROW_BYTES` a character."""
    return MAX_LINE_CHARS if not budget.bounded else budget.rows(LINE_ROW_BYTES, share=0.5)


def long_line_error(line: int, limit: int, budget: MemoryBudget) -> SeqlmError:
    where = f"line {line:,} of the training text is longer than {limit:,} characters"
    if budget.bounded:
        return SeqlmError(f"{where}, the most --memory {format_bytes(budget.limit)} holds at once "
                          f"({LINE_ROW_BYTES} bytes a character while a line is read): give a "
                          "larger --memory, or break the text into lines (one sentence a line)")
    return SeqlmError(f"{where}, the longest seqlm reads at once: break the text into lines "
                      "(one sentence a line)")


def compiled_encoder(encoder: TrainingEncoder, engine: str, min_tokens: int, projected: int):
    """The compiled encoder taking over `encoder` where `engine` resolves to numba for the
    tokens projected, else `encoder`."""
    if resolve(engine, projected, min_tokens) != "numba":
        return encoder
    from seqlm.ngram.compiled_reading import CompiledEncoder

    return CompiledEncoder(encoder)


def read_stream(source: str | Path, unit: str, ws: Workspace,
                progress: ProgressCallback | None = None, engine: str = "numpy",
                min_tokens: int = 0) -> tuple[IdStream, NgramVocab]:
    """Read a training text (a string, or a file's path) into the id stream and vocabulary.

    Engine "numba" encodes on `seqlm.ngram.compiled_reading` (the same ids); "auto" starts on
    NumPy and goes on compiled from the first piece where the tokens projected from the share
    read reach `min_tokens` (`seqlm.ngram.engine.resolve`).

    The stream stays in memory until it outgrows an eighth of the budget, then spills. A text
    past the budget's `token_limit`, or with a line past `line_limit`, stops the read with a
    one-line `SeqlmError` naming the --memory it needs."""
    max_line = line_limit(ws.budget)
    chars = min(PIECE_CHARS, ws.budget.rows(LINE_ROW_BYTES, share=0.25), max_line)
    pieces = file_pieces(source, chars, max_line) if isinstance(source, Path) else string_pieces(
        source, chars, max_line)
    total = source.stat().st_size if isinstance(source, Path) else len(source)
    encoder = TrainingEncoder(unit)
    writer = ws.writer(np.int32, "ids")
    bounds, held, lines, done = [0], [], 0, 0
    limit, tokens_limit = ws.budget.rows(4, share=0.125), ws.budget.token_limit()
    try:
        for piece in pieces:
            if engine != "numpy" and isinstance(encoder, TrainingEncoder):
                encoder = compiled_encoder(encoder, engine, min_tokens,
                                           bounds[-1] * max(total, done) // max(done, 1))
            ids = encoder.encode(piece)
            done += len(piece)
            if not len(ids):  # the empty tail of a file: no chunk may be empty
                continue
            lines += int(np.count_nonzero(ids == NGRAM_BOS_ID))
            bounds.append(bounds[-1] + len(ids))
            if bounds[-1] > tokens_limit:  # about this many in all, by the share read so far
                raise ws.budget.too_many_tokens(bounds[-1] * max(total, done) // done)
            if writer.file is None and bounds[-1] > limit:  # it does not fit: spill from now on
                ws.spill()
                writer = ws.writer(np.int32, "ids")
                for part in held:
                    writer.append(part)
                held = []
            (held.append(ids) if writer.file is None else writer.append(ids))
            report(progress, Progress("read", bounds[-1] - lines, None, unit="token"))
    except LineTooLongError as e:
        raise long_line_error(e.line, max_line, ws.budget) from None
    for part in held:
        writer.append(part)
    if lines == 0:
        raise SeqlmError("the training text is empty: give a text with at least one line")
    return IdStream(writer.finish(), bounds, lines), encoder.vocab()

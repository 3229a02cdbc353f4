"""Texts -> the token ids of a suffix index (`seqlm.ngram.suffix_index`), and back.

A document is the tokens of each of its lines followed by a line end, as the n-gram stream
(`seqlm.ngram.stream`) scores them: the same units, in the same order, so that an ∞-gram and
an n-gram model predict the same tokens one for one (a mixture needs that). Units:

    byte  ids are the UTF-8 bytes; the line end is b"\\n"; the document separator is 0xFF,
          a byte that never occurs in UTF-8, so every id fits in uint8 and nothing is OOV
    char  ids 3.. are the corpus's characters sorted by code point; 2 is the line end
    word  ids 3.. are the corpus's words (KenLM's whitespace rule, `<s>` `</s>` `<unk>`
          read as whitespace) in order of first appearance; 2 is the line end `</s>`

For char and word, 0 is the document separator and 1 stands for a token outside the index's
vocabulary in a query; neither is ever a corpus token, so no match runs across a document end
or through an unknown token. Leaves out: subword units.
"""

import numpy as np

from seqlm.data.tokenizers import split_words
from seqlm.errors import SeqlmError

BYTE_SEPARATOR, BYTE_LINE_END = 0xFF, ord("\n")
SEPARATOR, UNKNOWN, LINE_END = 0, 1, 2
LINE_END_WORD = "</s>"
SKIPPED_WORDS = ("<s>", "</s>", "<unk>")


def token_dtype(n_ids: int) -> np.dtype:
    """The smallest unsigned type holding ids 0..n_ids-1, big-endian so that comparing the
    bytes of two id strings compares the ids (the suffix array's order)."""
    for bits in (8, 16, 32):
        if n_ids <= 1 << bits:
            return np.dtype(f">u{bits // 8}")
    raise SeqlmError(f"{n_ids:,} token types do not fit 32-bit ids: use the byte or char unit")


def lines_of(text: str) -> list[str]:
    """The lines of a text; a final newline ends the last line (KenLM's rule)."""
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def word_lines(text: str) -> list[list[str]]:
    return [[w for w in split_words(line) if w not in SKIPPED_WORDS] for line in lines_of(text)]


def make_vocab(documents: list[str], unit: str) -> list[str] | None:
    """The index's token list (position = id) for char and word units; None for bytes."""
    if unit == "byte":
        return None
    if unit == "char":
        points = np.unique(np.concatenate(
            [np.frombuffer(d.encode("utf-32-le"), dtype="<u4") for d in documents] or [[]]))
        chars = [chr(p) for p in points.tolist() if p != ord("\n")]
        return ["", "<unk>", "\n", *chars]
    seen: dict[str, None] = {}
    for d in documents:
        for words in word_lines(d):
            seen.update(dict.fromkeys(words))
    return ["", "<unk>", LINE_END_WORD, *seen]


def encode(text: str, unit: str, vocab: list[str] | None) -> np.ndarray:
    """The ids of one text's tokens, each line followed by the line end (T,) int64."""
    if unit == "byte":
        data = text.encode("utf-8")
        if data and not data.endswith(b"\n"):
            data += b"\n"
        return np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    index = {t: i for i, t in enumerate(vocab)}
    if unit == "char":
        if text and not text.endswith("\n"):
            text += "\n"
        return np.fromiter((index.get(c, UNKNOWN) if c != "\n" else LINE_END for c in text),
                           dtype=np.int64, count=len(text))
    ids: list[int] = []
    for words in word_lines(text) if text else []:
        ids.extend(index.get(w, UNKNOWN) for w in words)
        ids.append(LINE_END)
    return np.array(ids, dtype=np.int64)


def separator(unit: str) -> int:
    return BYTE_SEPARATOR if unit == "byte" else SEPARATOR


def decode(ids: np.ndarray, unit: str, vocab: list[str] | None) -> str:
    """Ids back to text: a line end is a newline, a document separator `¶`."""
    if unit == "byte":
        data = np.asarray(ids, dtype=np.uint8).tobytes().replace(b"\xff", "¶".encode())
        return data.decode("utf-8", errors="replace")
    tokens = ["¶" if i == SEPARATOR else "\n" if i == LINE_END else vocab[i]
              for i in np.asarray(ids).tolist()]
    if unit == "char":
        return "".join(tokens)
    return " ".join(tokens).replace(" \n ", "\n").replace(" \n", "\n").replace("\n ", "\n")

"""A text to score -> its `SentenceIds`, without a Python object per token.

`seqlm.ngram.stream` states the rules (KenLM's): each line is `<s> w1 … wk </s>`, a final
newline ends the last line, words split on ASCII space, tab and CR; in scored text `<unk>`
is OOV and literal `<s>`, `</s>` are whitespace. Here the text is encoded once to UTF-8 and
NumPy finds every token as a byte span: words are the runs between separators, characters
start at every byte that is not a UTF-8 continuation byte, bytes are bytes. Word and character
spans are looked up by hash (`seqlm.ngram.vocab_hash`: the vocabulary's table, built once per
vocabulary and kept on it), bytes through a 256-entry table. `<s>` and `</s>` around every
line are then laid in by position arithmetic:

    text  "a b\\n\\nc\\n"     tokens a b | c         line of each: 0 0 2
    ids   <s> a b </s> <s> </s> <s> c </s>         token i goes to i + 2 line(i) + 1

Leaves out: streaming a scored text larger than memory.
"""

import numpy as np

from seqlm.ngram.stream import (
    NGRAM_BOS_ID,
    NGRAM_EOS_ID,
    NGRAM_UNK_ID,
    OOV_MARK,
    SKIP_MARK,
    SentenceIds,
    check_unit,
)
from seqlm.ngram.vocab_hash import hashed_ids, scoring_lookup


def token_spans(buf: np.ndarray, n: int, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) byte spans (T,) of the tokens of buf[:n], line ends left out."""
    b = buf[:n]
    if unit == "byte":
        starts = np.flatnonzero(b != 10)
        return starts, starts + 1
    if unit == "char":
        starts = np.flatnonzero(((b & 0xC0) != 0x80) & (b != 10))
        firsts = np.flatnonzero((b & 0xC0) != 0x80)  # every character, line ends included
        ends = np.append(firsts, n)[np.searchsorted(firsts, starts, side="right")]
        return starts, ends
    space = np.empty(n + 2, dtype=bool)
    space[0] = space[-1] = True
    space[1:-1] = (b == 32) | (b == 9) | (b == 13) | (b == 10)
    change = np.flatnonzero(space[1:] != space[:-1])  # alternately a word's start and end
    return change[0::2], change[1::2]


def token_ids(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, vocab, unit: str,
              ) -> np.ndarray:
    """Ids (T,) with SKIP_MARK for literal `<s>`/`</s>` and OOV_MARK for OOVs and `<unk>`."""
    if unit == "byte":
        table = vocab.ids([chr(i) for i in range(256)])
        return table[buf[starts]]
    return scoring_lookup(hashed_ids(vocab), buf, starts, ends)


def encode(text: str, vocab, unit: str) -> SentenceIds:
    """The token stream of a text to score; tokens outside `vocab` (and `<unk>`) are OOV."""
    check_unit(unit)
    data = text.encode("utf-8")
    n = len(data)
    buf = np.frombuffer(data + bytes(8), dtype=np.uint8)  # slack for 8-byte reads
    starts, ends = token_spans(buf, n, unit)
    ids = token_ids(buf, starts, ends, vocab, unit)
    keep = ids != SKIP_MARK
    out, firsts = sentences(ids[keep], starts[keep], buf, n)
    oov = out == OOV_MARK
    out[oov] = NGRAM_UNK_ID
    return SentenceIds(ids=out, oov=oov, starts=firsts)


def sentences(ids: np.ndarray, starts: np.ndarray, buf: np.ndarray, n: int,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (T,) at byte offsets `starts` of buf[:n], laid out as `<s> ... </s>` per
    line (T + 2 lines,), and where each `<s>` is (lines,)."""
    newlines = np.flatnonzero(buf[:n] == 10)
    lines = len(newlines) + (n > 0 and buf[n - 1] != 10)
    line = np.searchsorted(newlines, starts)  # the line each token is on
    per_line = np.bincount(line, minlength=lines)
    out = np.empty(len(ids) + 2 * lines, dtype=ids.dtype)
    firsts = np.cumsum(per_line + 2) - (per_line + 2)  # where each line's <s> goes
    out[firsts] = NGRAM_BOS_ID
    out[firsts + per_line + 1] = NGRAM_EOS_ID
    out[np.arange(len(ids)) + 2 * line + 1] = ids
    return out, firsts.astype(np.int64)

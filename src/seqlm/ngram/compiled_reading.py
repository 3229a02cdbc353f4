"""Training text -> ids, compiled: what `seqlm.ngram.reading.TrainingEncoder` does, in one scan.

Imported only when the engine (`seqlm.ngram.engine`) is "numba". `encode_piece` walks a
piece's UTF-8 bytes once: each token is found and hashed in the scan that finds its end
(`seqlm.ngram.compiled_text.next_key`: the 63-bit key of
`seqlm.ngram.vocab_hash.byte_keys`; a byte's value for bytes), looked up in an open-addressing
table of records (key, id) that grows as the vocabulary does, and written out between `<s>`
and `</s>` per line. A key never seen gets the next id there and then, so ids follow first
appearance as the NumPy encoder's do (its `np.unique` + sort by first index), and literal
`<s>`, `</s>`, `<unk>` (words) sit in the table as `SKIP` and are dropped (whitespace). Only a
new token's span leaves the kernel, to be decoded in Python for the vocabulary.
`CompiledEncoder` takes over a `TrainingEncoder`'s state (its tokens and key -> id dict), so a
read may start on NumPy and go on compiled (`seqlm.ngram.reading.read_stream`, engine auto).
Leaves out: threads (a piece is one sequential scan).
"""

import numpy as np
from numba import njit

from seqlm.ngram.compiled_text import home, next_key
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, NGRAM_SPECIALS, NgramVocab

SKIP = -3  # seqlm.ngram.reading._SKIP: a token read as whitespace
UNITS = {"word": 0, "char": 1, "byte": 2}  # compiled_text's unit codes


@njit(cache=True, nogil=True)
def _put(rec, bits, key, value):
    """Write (key, value) into the first free slot of key's probe sequence (key absent)."""
    mask = (1 << bits) - 1
    slot = home(key, bits)
    while rec[slot, 0] >= 0:
        slot = (slot + 1) & mask
    rec[slot, 0], rec[slot, 1] = key, value


@njit(cache=True, nogil=True)
def table_of(keys, values, bits):
    """Records (2**bits, 2) int64 holding every (key, value), free slots keyed -1."""
    rec = np.full((1 << bits, 2), -1, dtype=np.int64)
    for i in range(len(keys)):
        _put(rec, bits, keys[i], values[i])
    return rec


@njit(cache=True, nogil=True)
def _grown(rec, bits):
    """The table rehashed into twice the slots."""
    out = np.full((2 << bits, 2), -1, dtype=np.int64)
    for slot in range(1 << bits):
        if rec[slot, 0] >= 0:
            _put(out, bits + 1, rec[slot, 0], rec[slot, 1])
    return out


@njit(cache=True, nogil=True)
def _with_room(a, n):
    return a if n < len(a) else np.concatenate((a, np.empty_like(a)))


@njit(cache=True, nogil=True)
def encode_piece(buf, n, unit, rec, bits, size, next_id):
    """The lines of buf[:n] as `<s> w1 ... </s>` int32 ids, new keys given ids from next_id
    in order of first appearance. Returns (ids, rec, bits, size, next_id, new_starts,
    new_ends): the table (grown where more than half full) and the new tokens' byte spans."""
    out = np.empty(2 * n + 2, dtype=np.int32)  # tokens + line ends <= n, 2 ids a line
    starts = np.empty(64, dtype=np.int64)
    ends = np.empty(64, dtype=np.int64)
    m = fresh = 0
    i = 0
    while i < n:
        out[m] = NGRAM_BOS_ID
        m += 1
        while True:
            a, b, key = next_key(buf, i, n, unit)
            if b < 0:
                i = a + 1  # past the newline
                break
            i = b
            mask = (1 << bits) - 1
            slot = home(key, bits)
            while rec[slot, 0] >= 0 and rec[slot, 0] != key:
                slot = (slot + 1) & mask
            if rec[slot, 0] == key:
                w = rec[slot, 1]
            else:
                w = next_id
                rec[slot, 0], rec[slot, 1] = key, w
                next_id += 1
                size += 1
                starts, ends = _with_room(starts, fresh), _with_room(ends, fresh)
                starts[fresh], ends[fresh] = a, b
                fresh += 1
                if 2 * size > (1 << bits):
                    rec = _grown(rec, bits)
                    bits += 1
            if w != SKIP:
                out[m] = w
                m += 1
        out[m] = NGRAM_EOS_ID
        m += 1
    return out[:m].copy(), rec, bits, size, next_id, starts[:fresh], ends[:fresh]


class CompiledEncoder:
    """`TrainingEncoder`'s `encode` and `vocab` on `encode_piece`, from its state so far."""

    def __init__(self, encoder):
        self.unit, self.tokens = encoder.unit, encoder.tokens
        keys = np.fromiter(encoder.lookup.keys(), dtype=np.int64, count=len(encoder.lookup))
        ids = np.fromiter(encoder.lookup.values(), dtype=np.int64, count=len(encoder.lookup))
        self.bits = max(10, (2 * len(keys) + 1).bit_length())
        self.rec = table_of(keys, ids, self.bits)
        self.size = len(keys)

    def encode(self, piece: str) -> np.ndarray:
        """Ids of whole lines with `<s>` and `</s>` (T,) int32."""
        data = piece.encode("utf-8")
        buf = np.frombuffer(data + bytes(8), dtype=np.uint8)  # slack for 8-byte reads
        ids, self.rec, self.bits, self.size, _, starts, ends = encode_piece(
            buf, len(data), UNITS[self.unit], self.rec, self.bits, self.size, len(self.tokens))
        codec = "latin-1" if self.unit == "byte" else "utf-8"
        self.tokens.extend(data[s:e].decode(codec)
                           for s, e in zip(starts.tolist(), ends.tolist(), strict=True))
        return ids

    def vocab(self) -> NgramVocab:
        return NgramVocab(self.tokens[len(NGRAM_SPECIALS):])

"""64-bit token hashes, vectorised, and a vocabulary that lives in a memory-mapped file.

A binary model (`seqlm.ngram.binary`) must answer "which id is this word?" without building a
Python dict of its whole vocabulary at load time, so the vocabulary is stored as a hash table
(KenLM's binary vocabulary is one too): each token's 63-bit hash, sorted, with a linear-probing
index over them (`seqlm.ngram.probing`) and the token ids in that order. The ARPA reader
(`seqlm.ngram.arpa_read`) finds words the same way. Hashing never loops in Python over
strings: `byte_keys` hashes byte strings laid in one buffer, reading each 8 bytes at a time
through a strided uint64 view of the buffer (one gather per 8 bytes of the longest string,
over the strings still that long), xor-ing and mixing with splitmix64's finaliser. Like
KenLM, lookups trust the hash (two vocabulary words with one hash are refused when the table
is built; an unknown word taken for a known one has probability ~V / 2^63).
Leaves out: cryptographic strength (the hash is not meant to resist crafted collisions).
"""

import numpy as np

from seqlm.data.vocab import BOS, EOS, UNK
from seqlm.errors import SeqlmError
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.stream import OOV_MARK, SKIP_MARK

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (Steele et al. 2014), elementwise on uint64 (wraps)."""
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


def words_at(buf: np.ndarray) -> np.ndarray:
    """The 8 bytes starting at every offset of `buf` as little-endian uint64 (a strided view,
    no copy); `buf` must end with 8 bytes of slack."""
    return np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))


def byte_keys(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 63-bit hash of every byte string buf[starts:ends] (T,) int64: its bytes taken 8 at a
    time, each word xor-ed in and mixed, seeded with the length. `buf` (uint8) must end with 8
    bytes of slack past the last string."""
    words = words_at(buf)
    lengths = (ends - starts).astype(np.int64)
    with np.errstate(over="ignore"):
        h = lengths.astype(np.uint64) * _GOLDEN
        rows = np.arange(len(starts))
        for offset in range(0, int(lengths.max(initial=0)), 8):
            rows = rows[lengths[rows] > offset]
            left = np.minimum(lengths[rows] - offset, 8).astype(np.uint64) * np.uint64(8)
            keep = np.where(left == 64, ~np.uint64(0), (np.uint64(1) << left) - np.uint64(1))
            h[rows] = mix(h[rows] ^ (words[starts[rows] + offset] & keep))
        return (mix(h) >> np.uint64(1)).astype(np.int64)


def token_keys(tokens: list[str]) -> np.ndarray:
    """`byte_keys` of the UTF-8 bytes of every token (T,) int64, equal for equal strings."""
    joined = "".join(tokens)
    data = joined.encode("utf-8")
    if len(data) == len(joined):  # ASCII: a character is a byte
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    else:
        lengths = np.fromiter(map(len, map(str.encode, tokens)), dtype=np.int64,
                              count=len(tokens))
    ends = np.cumsum(lengths)
    return byte_keys(np.frombuffer(data + bytes(8), dtype=np.uint8), ends - lengths, ends)


class HashedIds:
    """token hash -> id: the sorted hashes (V,), the id of each (V,), and a probing index."""

    def __init__(self, sorted_keys: np.ndarray, ids: np.ndarray, index: ProbingIndex):
        self.sorted_keys, self.order, self.index = sorted_keys, ids, index

    @classmethod
    def build(cls, tokens: list[str]) -> "HashedIds":
        keys = token_keys(tokens)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        if len(keys) > 1 and np.any(sorted_keys[1:] == sorted_keys[:-1]):
            raise SeqlmError("two vocabulary words share a 64-bit hash: this model cannot be "
                             "stored as a binary model; keep it as an ARPA file")
        return cls(sorted_keys, order.astype(np.int32), ProbingIndex(sorted_keys))

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Ids of hashed tokens (T,), OOV_MARK where unknown."""
        rank = self.index.find(keys)
        return np.where(rank >= 0, self.order[np.maximum(rank, 0)], OOV_MARK).astype(np.int64)


_MARKERS = token_keys(["\n", BOS, EOS, UNK])  # the first is unused: lines are cut apart


def hashed_ids(vocab) -> HashedIds:
    """The hash table of a vocabulary: a mapped one's own, else built once and kept on it."""
    if vocab.hashed is None:
        vocab.hashed = HashedIds.build(list(vocab.tokens))
    return vocab.hashed


def scoring_lookup(hashed: HashedIds, buf: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray) -> np.ndarray:
    """Ids of the byte spans of a scored text (T,): SKIP_MARK for literal `<s>` and `</s>`
    (whitespace), OOV_MARK for `<unk>` and words outside the vocabulary."""
    keys = byte_keys(buf, starts, ends)
    out = hashed.find(keys)
    out[(keys == _MARKERS[1]) | (keys == _MARKERS[2])] = SKIP_MARK
    out[keys == _MARKERS[3]] = OOV_MARK
    return out


class MappedVocab:
    """The vocabulary of a binary model: tokens as one UTF-8 blob with offsets (V+1,), looked
    up through `HashedIds`; the Python list of tokens is made only if asked for."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, hashed: HashedIds):
        self.blob, self.offsets, self.hashed = blob, offsets, hashed
        self._tokens: list[str] | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def token(self, i: int) -> str:
        return bytes(self.blob[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8")

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:  # byte offsets -> character offsets: count lead bytes
            text = bytes(self.blob).decode("utf-8")
            leads = np.concatenate([[0], np.cumsum((self.blob & 0xC0) != 0x80)])
            bounds = leads[self.offsets].tolist()
            self._tokens = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return self._tokens

    def ids(self, tokens: list[str]) -> np.ndarray:
        keys = token_keys(tokens)
        out = self.hashed.find(keys)
        out[keys == _MARKERS[3]] = OOV_MARK  # <unk> as text is OOV
        return out


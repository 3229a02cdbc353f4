"""64-bit token hashes, vectorised, and a vocabulary that lives in a memory-mapped file.

A binary model (`seqlm.ngram.binary`) must answer "which id is this word?" without building a
Python dict of its whole vocabulary at load time, so the vocabulary is stored as a hash table
(KenLM's binary vocabulary is one too): each token's 64-bit hash, sorted, with a linear-probing
index over them (`seqlm.ngram.probing`) and the token ids in that order. Hashing many tokens
at once never loops in Python: the tokens are joined and encoded as UTF-32 code points c, and
with prefix sums S[i] = sum_{j<i} c_j P^j (mod 2^64, P odd) a token occupying [s, e) hashes
to (S[e] - S[s]) P^-s, mixed with its length and finished with splitmix64's mixer. Like
KenLM, lookups trust the 64-bit hash (two vocabulary words with one hash are refused when the
table is built; an unknown word taken for a known one has probability ~V / 2^63).
Leaves out: hashing without the UTF-32 copy of the tokens.
"""

import numpy as np

from seqlm.data.vocab import BOS, EOS, UNK
from seqlm.errors import SeqlmError
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.stream import LINE_END_MARK, OOV_MARK, SKIP_MARK

_P = np.uint64(0x100000001B3)  # FNV's 64-bit prime: odd, so invertible modulo 2^64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)  # wraps modulo 2^64, as intended


def token_keys(tokens: list[str]) -> np.ndarray:
    """A 63-bit hash of every token (T,) int64, equal for equal strings."""
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    points = np.frombuffer("".join(tokens).encode("utf-32-le"), dtype=np.uint32)
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(points) + 1, dtype=np.uint64)
        np.cumsum(points.astype(np.uint64) * _powers(_P, len(points)), out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * _powers(_P_INV, len(points) + 1)[starts]
        h ^= lengths.astype(np.uint64) * _GOLDEN
        h = (h ^ (h >> np.uint64(30))) * _M1
        h = (h ^ (h >> np.uint64(27))) * _M2
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(1)).astype(np.int64)


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


_MARKERS = token_keys(["\n", BOS, EOS, UNK])


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

    def scoring_ids(self, tokens: list[str]) -> np.ndarray:
        keys = token_keys(tokens)
        out = self.hashed.find(keys)
        out[keys == _MARKERS[0]] = LINE_END_MARK
        out[(keys == _MARKERS[1]) | (keys == _MARKERS[2])] = SKIP_MARK
        out[keys == _MARKERS[3]] = OOV_MARK
        return out

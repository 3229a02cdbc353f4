"""A corpus as token ids and their suffix array, on disk and memory-mapped: the index of the
∞-gram model (infini-gram, Liu et al. 2024, arXiv 2401.17377, section 3).

The documents are laid end to end, each followed by a separator id that never occurs in a
query (`seqlm.ngram.index_tokens`), so a match never crosses a document end. The suffix array
`sa` lists every position ordered by the suffix starting there (`pydivsufsort`, libdivsufsort's
O(n log n) construction); the occurrences of any token string are then one contiguous run of
`sa`, found by two binary searches (`find_range`). Token ids are stored big-endian in the
smallest of uint8 / uint16 / uint32 that holds the vocabulary, so comparing the raw bytes of
two id strings compares them as ids: a binary search step is one slice of the mapped file and
one `bytes` comparison in C.

File layout (every array starts at a multiple of 64 bytes):

    b"SEQLMSFX" | uint64 header length | header JSON | tokens (n,) | sa (n,) | doc_starts (D+1,)

The header holds the unit, dtypes, sizes, offsets, the vocabulary (char, word), unigram
counts, the corpus's identity and the sha256 of everything after it; `load` checks the magic,
version, header and file size, `verify()` the checksum. Bytes per token: 1 (bytes) + 4 (int32
positions below 2**31 tokens). Memory while building: the tokens plus the suffix array
(5 bytes per token for bytes; word ids sort as big-endian byte strings, twice that).
Leaves out: sharding a corpus larger than memory (infini-gram's shards), on-disk construction.
"""

import hashlib
import json
import mmap
import sys
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.config.ngram import check_unit
from seqlm.errors import SeqlmError
from seqlm.ngram import index_tokens
from seqlm.progress import Progress, ProgressCallback, report

MAGIC, VERSION, ALIGN = b"SEQLMSFX", 1, 64


@dataclass(frozen=True)
class IndexInfo:
    """What the header says: enough to check a query against the index."""

    unit: str
    n_tokens: int  # separators included
    n_documents: int
    token_dtype: str
    sa_dtype: str
    vocab: list[str] | None
    unigrams: list[int]  # corpus count of every id
    corpus: dict
    offsets: dict
    payload_sha256: str

    @property
    def separator(self) -> int:
        return index_tokens.separator(self.unit)

    @property
    def n_ids(self) -> int:
        return 256 if self.vocab is None else len(self.vocab)


def padded(n: int) -> int:
    return -n % ALIGN


def lay_out(documents: list[str], unit: str, progress: ProgressCallback | None
            ) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Tokens of all documents with a separator after each (n,), and the document starts."""
    check_unit(unit)
    vocab = index_tokens.make_vocab(documents, unit)
    dtype = index_tokens.token_dtype(256 if vocab is None else len(vocab))
    sep = index_tokens.separator(unit)
    parts, starts, at = [], [0], 0
    for i, doc in enumerate(documents):
        ids = index_tokens.encode(doc, unit, vocab)
        parts += [ids.astype(dtype), np.array([sep], dtype=dtype)]
        at += len(ids) + 1
        starts.append(at)
        if i % 256 == 0:
            report(progress, Progress("index: tokens", i, len(documents), unit="docs"))
    tokens = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
    return tokens, np.array(starts, dtype=np.int64), vocab


def suffix_array(tokens: np.ndarray) -> np.ndarray:
    """Positions sorted by their suffixes (n,) int32, or int64 past 2**31 tokens."""
    try:
        from pydivsufsort import divsufsort
    except ImportError:
        raise SeqlmError("the ∞-gram index needs pydivsufsort: pip install 'seqlm[infinigram]'"
                         ) from None
    if len(tokens) == 0:
        raise SeqlmError("nothing to index: the corpus split is empty")
    if tokens.dtype.itemsize == 1:
        return divsufsort(np.ascontiguousarray(tokens, dtype=np.uint8))
    # big-endian ids as bytes: the suffixes at whole-token offsets sort as the id strings do
    raw = np.frombuffer(tokens.tobytes(), dtype=np.uint8).copy()
    sa = divsufsort(raw)
    w = tokens.dtype.itemsize
    sa = sa[sa % w == 0] // w
    return sa.astype(np.int32 if len(tokens) < 2**31 else np.int64)


def build_index(documents: list[str], unit: str, path: str | Path, corpus: dict | None = None,
                progress: ProgressCallback | None = None) -> IndexInfo:
    """Tokenise `documents`, sort their suffixes and write the index to `path` (atomically)."""
    tokens, starts, vocab = lay_out(documents, unit, progress)
    report(progress, Progress("index: suffix array", 0, 1, unit="sort"))
    sa = suffix_array(tokens)
    report(progress, Progress("index: suffix array", 1, 1, unit="sort"))
    arrays = [tokens.tobytes(), sa.astype(sa.dtype.newbyteorder("<")).tobytes(),
              starts.astype("<i8").tobytes()]
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(a)
    unigrams = np.bincount(tokens.astype(np.int64), minlength=256 if vocab is None else len(vocab))
    head = {"version": VERSION, "unit": unit, "n_tokens": len(tokens),
            "n_documents": len(documents), "token_dtype": tokens.dtype.str,
            "sa_dtype": sa.dtype.newbyteorder("<").str, "vocab": vocab,
            "unigrams": unigrams.tolist(), "corpus": corpus or {}, "offsets": {},
            "payload_sha256": digest.hexdigest()}
    head_len = len(json.dumps(head).encode()) + 200  # room for the offsets' digits
    at = len(MAGIC) + 8 + head_len
    for name, a in zip(("tokens", "sa", "doc_starts"), arrays, strict=True):
        at += padded(at)
        head["offsets"][name] = at
        at += len(a)
    blob = json.dumps(head).encode().ljust(head_len)

    def write(f) -> None:
        f.write(MAGIC + np.uint64(head_len).tobytes() + blob)
        for name, a in zip(("tokens", "sa", "doc_starts"), arrays, strict=True):
            f.write(bytes(head["offsets"][name] - f.tell()))
            f.write(a)

    atomic_write(path, write)
    return info_of(head)


def info_of(head: dict) -> IndexInfo:
    return IndexInfo(**{k: v for k, v in head.items() if k != "version"})


def read_header(mapped: mmap.mmap, path: Path) -> IndexInfo:
    bad = f"{path} is not a seqlm suffix index (or is damaged): build it with `seqlm ngram index`"
    if mapped[:len(MAGIC)] != MAGIC:
        raise SeqlmError(bad)
    try:
        head_len = int(np.frombuffer(mapped[8:16], dtype="<u8")[0])
        head = json.loads(mapped[16:16 + head_len].decode())
    except (ValueError, UnicodeDecodeError):
        raise SeqlmError(bad) from None
    if head.get("version") != VERSION:
        raise SeqlmError(f"{path} is a version {head.get('version')} index; this seqlm reads "
                         f"version {VERSION}: rebuild it with `seqlm ngram index`")
    info = info_of(head)
    end = info.offsets["doc_starts"] + 8 * (info.n_documents + 1)
    if len(mapped) != end:
        raise SeqlmError(f"{path} has {len(mapped):,} bytes where its header says {end:,}: the "
                         "file was cut short or changed; rebuild it with `seqlm ngram index`")
    return info


def bucket_starts(tokens: np.ndarray, prefix: int, n_ids: int, chunk: int = 1 << 22
                  ) -> np.ndarray:
    """Where in `sa` the suffixes starting with each token (prefix 1) or byte pair (prefix 2)
    begin: the first ~16 steps of every binary search, done once at load by counting.
    A suffix with no second token (the last one) counts as followed by 0, which keeps its
    place: it sorts before every longer suffix with the same first token. (B + 1,)"""
    size = 65536 if prefix == 2 else n_ids
    counts = np.zeros(size, dtype=np.int64)
    for a in range(0, len(tokens), chunk):
        first = tokens[a:a + chunk].astype(np.int64)
        if prefix == 2:
            second = tokens[a + 1:a + chunk + 1].astype(np.int64)
            first = first * 256 + np.pad(second, (0, len(first) - len(second)))
        counts += np.bincount(first, minlength=size)
    return np.concatenate([[0], np.cumsum(counts)])


class SuffixIndex:
    """A memory-mapped index: `find_range(ids)` is the run of `sa` where `ids` occur."""

    def __init__(self, path: str | Path):
        if sys.byteorder != "little":
            raise SeqlmError("suffix indexes are read on little-endian machines only")
        self.path = Path(path)
        if not self.path.is_file():
            raise SeqlmError(f"no index at {self.path}: build one with `seqlm ngram index`")
        with open(self.path, "rb") as f:
            self.mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.info = read_header(self.mapped, self.path)
        off, n = self.info.offsets, self.info.n_tokens
        self.tokens = np.frombuffer(self.mapped, dtype=self.info.token_dtype, count=n,
                                    offset=off["tokens"])
        self.sa = np.frombuffer(self.mapped, dtype=self.info.sa_dtype, count=n, offset=off["sa"])
        self.doc_starts = np.frombuffer(self.mapped, dtype="<i8",
                                        count=self.info.n_documents + 1, offset=off["doc_starts"])
        code = "i" if self.sa.dtype.itemsize == 4 else "q"
        self.sa_items = memoryview(self.mapped)[off["sa"]:off["sa"] + self.sa.nbytes].cast(code)
        self.width, self.base = self.tokens.dtype.itemsize, off["tokens"]
        self.prefix = 2 if self.width == 1 else 1  # tokens that pick a bucket
        self.buckets = bucket_starts(self.tokens, self.prefix, self.info.n_ids)

    def __len__(self) -> int:
        return self.info.n_tokens

    def pattern(self, ids) -> bytes:
        """Token ids as the bytes they are stored as."""
        return np.asarray(ids, dtype=self.info.token_dtype).tobytes()

    def find_range(self, pattern: bytes, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        """The half-open run [lo, hi) of `sa` whose suffixes start with `pattern` (bytes of ids);
        a run known to contain it (a shorter prefix's) narrows the search."""
        if hi is None:
            lo, hi = self.bucket(pattern)
        m, w, base, mapped = len(pattern), self.width, self.base, self.mapped

        def key(s: int) -> bytes:
            return mapped[base + s * w:base + s * w + m]

        sa = self.sa_items
        first = bisect_left(sa, pattern, lo, hi, key=key)
        # gallop to the end of the run: long patterns occur a few times, so a handful of
        # comparisons instead of a second full binary search
        good, step = first - 1, 1
        while good + step < hi and key(sa[good + step]) == pattern:
            good, step = good + step, step * 2
        return first, bisect_right(sa, pattern, good + 1, min(good + step, hi), key=key)

    def occurs(self, pattern: bytes) -> bool:
        """Whether `pattern` occurs at all: one binary search instead of two."""
        m, w, base, mapped = len(pattern), self.width, self.base, self.mapped
        lo, hi = self.bucket(pattern)
        first = bisect_left(self.sa_items, pattern, lo, hi,
                            key=lambda s: mapped[base + s * w:base + s * w + m])
        if first == hi:
            return False
        s = self.sa_items[first]
        return mapped[base + s * w:base + s * w + m] == pattern

    def bucket(self, pattern: bytes) -> tuple[int, int]:
        """The run of `sa` whose suffixes share the pattern's first tokens (one or two)."""
        ids = np.frombuffer(pattern[:self.prefix * self.width], dtype=self.info.token_dtype)
        if len(ids) == 0:
            return 0, len(self)
        if self.prefix == 2:
            key = int(ids[0]) * 256 + (int(ids[1]) if len(ids) == 2 else 0)
            end = key + 1 if len(ids) == 2 else key + 256
            return int(self.buckets[key]), int(self.buckets[end])
        return int(self.buckets[int(ids[0])]), int(self.buckets[int(ids[0]) + 1])

    def count(self, ids) -> int:
        """How often the token string `ids` occurs in the corpus."""
        lo, hi = self.find_range(self.pattern(ids))
        return hi - lo

    def documents_of(self, positions: np.ndarray) -> np.ndarray:
        """The document each corpus position belongs to."""
        return np.searchsorted(self.doc_starts, positions, side="right") - 1

    def verify(self) -> None:
        """Recompute the checksum of the arrays; a mismatch is a one-line error."""
        digest = hashlib.sha256()
        for name, a in (("tokens", self.tokens), ("sa", self.sa), ("doc_starts", self.doc_starts)):
            digest.update(memoryview(self.mapped)[self.info.offsets[name]:
                                                  self.info.offsets[name] + a.nbytes])
        if digest.hexdigest() != self.info.payload_sha256:
            raise SeqlmError(f"{self.path} fails its checksum: the file is damaged; rebuild it "
                             "with `seqlm ngram index`")

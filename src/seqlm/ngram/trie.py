"""Sorted-key n-gram tables: an n-gram's id is its rank among the n-grams of its order.

Order-1 ids are word ids. The order-(k+1) n-gram `h w` has the int64 key

    key(h w) = id(h) * V + w        (id(h): the rank of the order-k n-gram h; V: vocabulary size)

so one sorted key array per order is a trie laid flat (as in KenLM's sorted `trie` layout):
sorting keys sorts n-grams lexicographically, the extensions of a context are one contiguous
run, the parent of an n-gram is `key // V`, its last word `key % V`, and finding an n-gram is
one `np.searchsorted`. Keys fit in int64 while (distinct order-k n-grams) * V < 2**63, which
holds for any corpus that fits in memory. Leaves out: hashing and quantisation (KenLM's
`probing` layout and `-q`/`-b`), which trade exactness or memory for speed.
"""

import numpy as np

KEY_LIMIT = np.iinfo(np.int64).max


def pack(parent_ids: np.ndarray, words: np.ndarray, V: int) -> np.ndarray:
    """Keys of the n-grams `parent · word` (both (P,)) -> (P,) int64."""
    return parent_ids.astype(np.int64) * V + words


def check_packable(n_parents: int, V: int) -> None:
    if n_parents and n_parents > KEY_LIMIT // max(V, 1):
        raise OverflowError(f"{n_parents} contexts x {V} words do not fit an int64 key")


def parents(keys: np.ndarray, V: int) -> np.ndarray:
    return keys // V


def last_words(keys: np.ndarray, V: int) -> np.ndarray:
    return keys % V


def find(table: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Ids of `queries` (Q,) in the sorted key array `table`, -1 where absent. (Q,)"""
    if len(table) == 0 or len(queries) == 0:
        return np.full(len(queries), -1, dtype=np.int64)
    pos = np.searchsorted(table, queries)
    hit = table[np.minimum(pos, len(table) - 1)] == queries
    return np.where(hit, pos, -1)


def extensions(table: np.ndarray, parent_id: int, V: int) -> tuple[int, int]:
    """The half-open id range of the n-grams that extend context `parent_id` by one word."""
    lo = np.searchsorted(table, parent_id * V)
    hi = np.searchsorted(table, (parent_id + 1) * V)
    return int(lo), int(hi)

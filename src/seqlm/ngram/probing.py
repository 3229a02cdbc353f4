"""A linear-probing hash index over one order's sorted n-gram keys (KenLM's `probing` idea).

`seqlm.ngram.trie` finds an n-gram by binary search: ~17 dependent memory reads for 100k
n-grams, each likely a cache miss. Scoring asks once per position and order, so the index
maps key -> id with open addressing instead: slot = the top bits of key * 0x9E3779B97F4A7C15
(Fibonacci hashing), then the next slots in turn; at most half the slots are used, so a
lookup reads about 1.5 slots. Slots hold int32 ids (-1 = empty); a slot's key is
`keys[id]`, so the index costs 4 bytes per slot (8 to 16 bytes per n-gram).

Both building and lookup run in vectorised rounds: every key or query still unplaced or
unanswered moves one slot further per round. A key placed in round r passed r occupied slots,
which stay occupied, so a lookup that stops at the first empty slot never stops early.
A binary model stores the slots (`ProbingIndex(keys, slots)` maps them back). Leaves out:
KenLM's on-disk layout.
"""

import numpy as np

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class ProbingIndex:
    """key -> rank in `keys` (sorted, unique, non-negative int64), -1 where absent."""

    def __init__(self, keys: np.ndarray, slots: np.ndarray | None = None):
        self.keys = keys
        self.bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 2))))  # load <= 1/2
        if slots is not None:  # a table built before (a binary model's)
            self.slots = slots
            return
        self.slots = np.full(1 << self.bits, -1, dtype=np.int32)
        pending = np.arange(len(keys), dtype=np.int64)
        slot = self.home(keys)
        while len(pending):
            free = self.slots[slot] < 0
            firsts = np.unique(slot[free], return_index=True)[1]  # one winner per free slot
            winners = np.flatnonzero(free)[firsts]
            self.slots[slot[winners]] = pending[winners]
            losers = np.ones(len(pending), dtype=bool)
            losers[winners] = False
            pending, slot = pending[losers], (slot[losers] + 1) & ((1 << self.bits) - 1)

    def home(self, keys: np.ndarray) -> np.ndarray:
        """The first slot to try for each key. (Q,) int64"""
        product = np.ascontiguousarray(keys, dtype=np.int64).view(np.uint64) * _MULTIPLIER
        product >>= np.uint64(64 - self.bits)  # wraps modulo 2**64 above, as intended
        return product.view(np.int64)

    def find(self, queries: np.ndarray) -> np.ndarray:
        """Ranks of `queries` (Q,) among the keys, -1 where absent. (Q,) int64"""
        if not len(self.keys):
            return np.full(len(queries), -1, dtype=np.int64)
        slot = self.home(queries)
        out = self.slots[slot].astype(np.int64)  # round 0 for everyone: most queries end here
        miss = self.keys[out] != queries  # an empty slot (-1) reads the last key: masked next
        miss &= out >= 0
        pending = np.flatnonzero(miss)
        out[pending] = -1
        slot = (slot[pending] + 1) & ((1 << self.bits) - 1)
        while len(pending):
            ids = self.slots[slot]
            held = ids >= 0
            hit = held & (self.keys[np.where(held, ids, 0)] == queries[pending])
            out[pending[hit]] = ids[hit]
            go = held & ~hit
            pending, slot = pending[go], (slot[go] + 1) & ((1 << self.bits) - 1)
        return out

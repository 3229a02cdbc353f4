"""Counting n-grams of orders 1..N, vectorised, and KenLM's adjusted counts.

Every n-gram inside a sentence `<s> w1 … wk </s>` is counted, never one that crosses a line.
Order k+1 is built from order k in one pass: each position carries the id of the order-k
n-gram ending there, the key `id(previous position) * V + word` names the order-(k+1) n-gram
ending here (`seqlm.ngram.trie`), and `np.unique(..., return_inverse=True, return_counts=True)`
turns keys into sorted tables, counts and the next order's ids at once. The suffix of each
n-gram (it without its oldest word) is the order-k id at the same position, which is what
Kneser-Ney's continuation counts need.

Adjusted counts (Kneser & Ney 1995 continuation counts, with KenLM's rules; Heafield et al.
2013 section 3.1): the highest order keeps raw counts; a lower-order n-gram starting with `<s>`
keeps its raw count (nothing can stand to its left); every other lower-order n-gram counts the
distinct words seen to its left; `<s>` and `<unk>` as unigrams count 0.

Memory: the tables are proportional to the distinct n-grams; while counting, a few int64
arrays the length of the token stream live as well. Leaves out: pruning and disk-backed
sorting (KenLM's `-S` memory limit), so the corpus must fit in memory.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_UNK_ID, NgramVocab, SentenceIds, sentence_offsets
from seqlm.progress import Progress, ProgressCallback, report

MIN_ORDER, MAX_ORDER = 1, 8


def check_order(order: int) -> int:
    if not isinstance(order, int) or isinstance(order, bool) or not MIN_ORDER <= order <= MAX_ORDER:
        raise SeqlmError(f"order {order!r} is out of range: choose an order from {MIN_ORDER} to "
                         f"{MAX_ORDER} (3 to 5 is usual for words, 5 to 8 for characters)")
    return order


@dataclass(frozen=True)
class NgramCounts:
    """Raw counts of every order. Lists are indexed by order - 1.

    keys[k-1]:   (M_k,) sorted int64 keys of the order-k n-grams (order 1: 0..V-1, every word)
    counts[k-1]: (M_k,) int64 raw counts
    suffix[k-1]: (M_k,) id of the order-(k-1) n-gram without the oldest word (order 1: empty)
    """

    vocab: NgramVocab
    order: int
    keys: list[np.ndarray]
    counts: list[np.ndarray]
    suffix: list[np.ndarray]

    @property
    def V(self) -> int:  # noqa: N802 (the shape letter of the vocabulary)
        return len(self.vocab)

    def sizes(self) -> list[int]:
        """Number of n-grams per order, as an ARPA header states them."""
        return [len(k) for k in self.keys]

    def parents(self, order: int) -> np.ndarray:
        """(M_order,) the id of each n-gram's context (order >= 2)."""
        return trie.parents(self.keys[order - 1], self.V)

    def words(self, order: int) -> np.ndarray:
        """(M_order,) the last word of each n-gram."""
        return trie.last_words(self.keys[order - 1], self.V)

    def first_words(self) -> list[np.ndarray]:
        """The oldest word of every n-gram, per order."""
        firsts = [np.arange(self.V, dtype=np.int64)]
        for k in range(2, self.order + 1):
            firsts.append(firsts[-1][self.parents(k)])
        return firsts


def count(stream: SentenceIds, vocab: NgramVocab, order: int,
          progress: ProgressCallback | None = None) -> NgramCounts:
    """Count every n-gram of orders 1..`order` in `stream`."""
    check_order(order)
    V = len(vocab)
    ids, offsets = stream.ids, sentence_offsets(stream)
    keys = [np.arange(V, dtype=np.int64)]
    counts = [np.bincount(ids, minlength=V).astype(np.int64)]
    suffix = [np.zeros(0, dtype=np.int64)]
    pos = np.flatnonzero(offsets >= 1)  # where a 2-gram ends; later orders keep a subset
    here = ids.copy()  # here[i]: id of the order-k n-gram ending at position i
    for k in range(2, order + 1):
        report(progress, Progress("count", k - 1, order, unit="order"))
        pos = pos[offsets[pos] >= k - 1]
        trie.check_packable(len(keys[-1]), V)
        uniq, inverse, cnt = np.unique(trie.pack(here[pos - 1], ids[pos], V),
                                       return_inverse=True, return_counts=True)
        suf = np.empty(len(uniq), dtype=np.int64)
        suf[inverse] = here[pos]  # every occurrence agrees: the suffix is a function of the key
        here[pos] = inverse  # positions outside `pos` are never read at higher orders
        keys.append(uniq)
        counts.append(cnt.astype(np.int64))
        suffix.append(suf)
    report(progress, Progress("count", order, order, unit="order"))
    return NgramCounts(vocab=vocab, order=order, keys=keys, counts=counts, suffix=suffix)


def adjusted_counts(c: NgramCounts) -> list[np.ndarray]:
    """KenLM's adjusted counts per order (see the module docstring). (M_k,) int64 each."""
    adjusted = [c.counts[-1]]
    firsts = c.first_words()
    for k in range(c.order - 1, 0, -1):
        left = np.bincount(c.suffix[k], minlength=len(c.keys[k - 1]))  # distinct left words
        adjusted.insert(0, np.where(firsts[k - 1] == NGRAM_BOS_ID, c.counts[k - 1], left))
    adjusted[0] = adjusted[0].copy()
    adjusted[0][[NGRAM_UNK_ID, NGRAM_BOS_ID]] = 0
    return adjusted

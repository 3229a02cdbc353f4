"""Finding the held n-grams of a token stream, order by order, on the positions still in play.

As KenLM's query does, the match at each position grows one word to the left at a time and
stops at the first n-gram not held: an order-k n-gram is looked for at position i only if the
order-(k-1) n-grams ending at i-1 (its context) and at i (its suffix) were both found, i.e.
where the order-(k-1) matches hold two consecutive positions:

    positions    0    1    2    3    4      order 1: all but OOVs     0 1 2 3 4
    <s> a b c </s>                          order 2: pairs (0,1)..(3,4) -> found 1 2 3 4
                                            order 3: pairs (1,2)..(3,4) -> found 2 3

Each order is one vectorised hash lookup (`seqlm.ngram.probing`) over fewer positions than
the last. A `Match` keeps, besides positions and ids, the two facts scoring needs: whether
the match at a position was extended to a longer one (then its probability is not the one
used), and whether it served as the context of a longer match at the next position (then
its backoff is not applied). An OOV breaks every n-gram through it; so does `<s>` inside one.
Leaves out: KenLM's right-state minimisation (states here are never carried across calls).
"""

from dataclasses import dataclass

import numpy as np

from seqlm.ngram import trie
from seqlm.ngram.stream import NGRAM_BOS_ID


@dataclass
class Match:
    """The order-k n-grams held ending at positions `at` (A,), with their ids (A,)."""

    at: np.ndarray
    ids: np.ndarray
    words: np.ndarray  # (A,) the word at each position (the n-gram's last word)
    extended: np.ndarray  # (A,) bool: an order-(k+1) n-gram is held ending here too
    context_used: np.ndarray  # (A,) bool: it is the context of an order-(k+1) match at at+1


def find_matches(model, ids: np.ndarray, oov: np.ndarray) -> list[Match]:
    """The matches of every order (index k-1) in a stream of ids (T,) with OOV flags (T,)."""
    at = np.flatnonzero(~oov)
    found = [Match(at, ids[at], ids[at], np.zeros(len(at), bool), np.zeros(len(at), bool))]
    for k in range(2, model.order + 1):
        prev = found[-1]
        pairs = np.flatnonzero(np.diff(prev.at) == 1) + 1  # context at i-1, suffix at i
        if k == 2:  # <s> ends no n-gram: no query for "</s> <s>" at each sentence start
            pairs = pairs[prev.words[pairs] != NGRAM_BOS_ID]
        words = prev.words[pairs]
        got = model.index(k).find(trie.pack(prev.ids[pairs - 1], words, model.V))
        held = got >= 0
        hit = pairs[held]
        prev.extended[hit] = True
        prev.context_used[hit - 1] = True
        found.append(Match(prev.at[hit], got[held], words[held], np.zeros(len(hit), bool),
                           np.zeros(len(hit), bool)))
    return found


def dense(found: list[Match], length: int) -> list[np.ndarray]:
    """found[k-1][i]: the id of the order-k match ending at position i, -1 if none (T,)."""
    out = []
    for m in found:
        here = np.full(length, -1, dtype=np.int64)
        here[m.at] = m.ids
        out.append(here)
    return out

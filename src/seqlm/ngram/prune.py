"""Count pruning with `lmplz --prune`'s semantics.

`--prune 0 1 1`: one threshold per order, the last repeated for the orders not given; an
n-gram of order k >= 2 whose *raw* count is at most t_k is pruned (lmplz `adjust_counts.cc`
marks it). The thresholds must not decrease, so every kept n-gram keeps its context and its
suffix (both occur at least as often); unigrams are never pruned (t_1 must be 0). Pruning
changes neither the adjusted counts nor the discounts (lmplz computes both before it drops
anything); the pruned n-grams' adjusted counts go into their context's gamma whole, so each
context's distribution still sums to one (`seqlm.ngram.estimate`; lmplz
`initial_probabilities.cc`), and a context whose extensions were all pruned gets backoff 1.
`compact` then drops the pruned rows and renumbers every key to the kept n-grams' ranks.
Leaves out: lmplz's `--limit_vocab_file` (pruning by vocabulary).
"""

from dataclasses import dataclass

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.runs import gather
from seqlm.ngram.spill import Column, Workspace

COMPACT_ROW_BYTES = 64


@dataclass(frozen=True)
class Pruning:
    """Raw-count thresholds per order (index k-1), each order's own."""

    thresholds: tuple[int, ...]

    @classmethod
    def of(cls, given: tuple[int, ...] | list[int] | None, order: int) -> "Pruning | None":
        """lmplz's rules: at most one value per order, non-decreasing, the last one repeated;
        unigrams cannot be pruned."""
        if not given:
            return None
        values = [int(t) for t in given]
        if len(values) > order:
            raise SeqlmError(f"--prune gives {len(values)} thresholds for a model of order "
                             f"{order}: give at most one per order, e.g. --prune 0 1 1")
        if any(t < 0 for t in values):
            raise SeqlmError(f"--prune thresholds are counts, not {min(values)}: give numbers "
                             ">= 0, e.g. --prune 0 1 1")
        if values[0] != 0:
            raise SeqlmError(f"--prune {values[0]} for unigrams: unigrams cannot be pruned (as "
                             "in lmplz); start with 0, e.g. --prune 0 1 1")
        if any(b < a for a, b in zip(values[:-1], values[1:], strict=True)):
            raise SeqlmError(f"--prune {' '.join(map(str, values))} decreases: thresholds must "
                             "not decrease with the order, or a kept n-gram would lose its "
                             "context (e.g. --prune 0 1 1)")
        return cls(tuple(values + [values[-1]] * (order - len(values))))

    @property
    def active(self) -> bool:
        return any(self.thresholds)

    def threshold(self, k: int) -> int | None:
        """t_k, or None where order k keeps everything."""
        t = self.thresholds[k - 1]
        return t if t > 0 else None

    def compact(self, c, logp: list[Column], backoff: list[Column], ws: Workspace,
                ) -> tuple[list[Column], list[Column], list[Column]]:
        """Keys, log p and backoffs of the kept n-grams, keys renumbered to kept ranks."""
        keys, new_logp, new_backoff = [c.keys[0]], [logp[0]], list(backoff[:1])
        ranks = ws.column(np.arange(c.V, dtype=np.int64), "rank1")
        for k in range(2, c.order + 1):
            out = [ws.writer(np.int64, f"pruned-keys{k}"), ws.writer(np.float64, f"pruned-p{k}")]
            if k < c.order:
                out.append(ws.writer(np.float64, f"pruned-backoff{k}"))
            new_ranks = ws.writer(np.int64, f"rank{k}")
            kept = 0
            rows = ws.budget.rows(COMPACT_ROW_BYTES, share=0.5)
            for lo, key in c.keys[k - 1].blocks(rows):
                hi = lo + len(key)
                keep = c.counts[k - 1].read(lo, hi) > self.thresholds[k - 1]
                new_ranks.append(np.cumsum(keep) - 1 + kept)
                kept += int(keep.sum())
                key = key[keep]
                parents = gather(ranks, trie.parents(key, c.V), ws)
                out[0].append(trie.pack(parents, trie.last_words(key, c.V), c.V))
                out[1].append(logp[k - 1].read(lo, hi)[keep])
                if k < c.order:
                    out[2].append(backoff[k - 1].read(lo, hi)[keep])
            ranks = new_ranks.finish()
            columns = [w.finish() for w in out]
            keys.append(columns[0])
            new_logp.append(columns[1])
            if k < c.order:
                new_backoff.append(columns[2])
        return keys, new_logp, new_backoff

"""Interpolated (modified) Kneser-Ney from counts, order by order, block by block: lmplz's
`initial_probabilities` and `interpolate` stages.

For each order k >= 2 and each context h of order k-1 (Chen & Goodman 1998; Heafield et al.
2013, with KenLM's pruning rule):

    den(h)   = sum_x a(hx)
    gamma(h) = (sum over kept x of D(a(hx)) + sum over pruned x of a(hx)) / den(h)
    p(hw)    = (a(hw) - D(a(hw))) / den(h) + gamma(h) p(w | h')

with a the adjusted counts (`seqlm.ngram.counts`), D the order's discounts, and the unigrams
interpolated with the uniform 1/|V| (|V| = every unigram but `<s>`). gamma(h) becomes h's
backoff (log gamma; 0 for an n-gram that is no context). Keys are sorted by context, so a
block of rows cut at context boundaries holds every extension of its contexts, and contexts
come in id order: den, gamma and the backoffs of order k-1 are written block by block. Only
p(w | h'), read at the suffix ids, jumps around: `seqlm.ngram.runs.gather` (engine "numba":
read once per order where they fit `gather`'s block, `held_lower`). Without a memory budget
there is one block per order. The arithmetic (double, or lmplz's float32 steps from
`seqlm.ngram.single_precision`) is chosen once, by name.

Pruning (`seqlm.ngram.prune`) keeps the mass of pruned n-grams in gamma (so each context's
distribution still sums to one), then `compact` drops them and renumbers the keys.
Leaves out: KenLM's `--interpolate_unigrams 0` and its rest costs (`-q` output).
"""

from dataclasses import dataclass, field

import numpy as np

from seqlm.ngram import trie
from seqlm.ngram.counts import NgramCounts, adjusted_counts
from seqlm.ngram.discounts import counts_of_counts, kneser_ney, modified_kn
from seqlm.ngram.prune import Pruning
from seqlm.ngram.runs import gather
from seqlm.ngram.single_precision import Float32Arithmetic
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.stream import NGRAM_BOS_ID
from seqlm.progress import Progress, ProgressCallback, report

ESTIMATE_ROW_BYTES = 320  # keys, counts, adjusted, suffix, p, log p, context sums, gather copies


def log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


class DoubleArithmetic:
    """The estimate in float64 (seqlm's default)."""

    name = "double"
    dtype = np.float64

    def discount_table(self, t, double) -> np.ndarray:
        return double.table()

    def unigrams(self, a: np.ndarray, table: np.ndarray, V: int, bos: int) -> np.ndarray:
        af, d = a.astype(float), table[np.minimum(a, 3)]
        p = (af - d) / af.sum() + (d.sum() / af.sum()) / (V - 1)  # uniform over all but <s>
        p[bos] = 0.0
        return p

    def contexts(self, a, keep, table, ctx, n) -> tuple[np.ndarray, np.ndarray]:
        af = a.astype(float)
        den = np.bincount(ctx, weights=af, minlength=n)
        mass = np.bincount(ctx, weights=np.where(keep, table[np.minimum(a, 3)], af), minlength=n)
        return den, mass / den

    def probs(self, a, table, den, gamma, lower) -> np.ndarray:
        return (a - table[np.minimum(a, 3)]) / den + gamma * lower

    def log_probs(self, p: np.ndarray) -> np.ndarray:
        return log(p)

    def log_backoffs(self, gamma: np.ndarray) -> np.ndarray:
        return log(gamma)


ARITHMETIC = {"double": DoubleArithmetic(), "kenlm": Float32Arithmetic()}
DISCOUNTS = {"kn": kneser_ney, "mkn": modified_kn}


@dataclass
class Estimate:
    """The model's tables per order as columns (nats): keys, log p, and backoffs (k < N)."""

    keys: list[Column]
    logp: list[Column]
    backoff: list[Column]
    info: dict = field(default_factory=dict)

    def sizes(self) -> list[int]:
        return [len(k) for k in self.keys]


def estimate(c: NgramCounts, smoothing: str, precision: str, fallback, ws: Workspace,
             pruning: Pruning | None = None, progress: ProgressCallback | None = None,
             ) -> Estimate:
    """Kneser-Ney (`kn`) or modified Kneser-Ney (`mkn`) tables from counts."""
    math = ARITHMETIC[precision]
    report(progress, Progress("estimate", 0, c.order, unit="order", message="adjusted counts"))
    adjusted = adjusted_counts(c, ws)
    ts = [counts_of_counts(a) for a in adjusted]
    doubles = [DISCOUNTS[smoothing](k, t, fallback) for k, t in enumerate(ts, 1)]
    tables = [math.discount_table(t, d) for t, d in zip(ts, doubles, strict=True)]
    info = {"discounts": [[float(x) for x in t[1:]] for t in tables] if precision == "kenlm"
            else [list(d.as_tuple()) for d in doubles],
            "fallback_orders": [k for k, d in enumerate(doubles, 1) if d.fallback]}
    p = math.unigrams(adjusted[0].array(), tables[0], c.V, NGRAM_BOS_ID)
    logp, backoff, probs = [ws.column(math.log_probs(p), "logp1")], [], ws.column(p, "p1")
    for k in range(2, c.order + 1):
        report(progress, Progress("estimate", k - 1, c.order, unit="order"))
        keep = pruning.threshold(k) if pruning else None
        lp, bo, p_k = estimate_order(c, k, adjusted[k - 1], tables[k - 1], probs, keep,
                                     math, ws)
        probs.drop()  # order k-1's probabilities are read by order k only
        probs = p_k
        logp.append(lp)
        backoff.append(bo)
    probs.drop()
    for a in adjusted:  # spill files nothing reads again (the raw counts stay)
        if not any(a is raw for raw in c.counts):
            a.drop()
    report(progress, Progress("estimate", c.order, c.order, unit="order"))
    keys = c.keys
    if pruning is not None and pruning.active:
        keys, logp, backoff = pruning.compact(c, logp, backoff, ws)
    info["counts"] = [len(k) for k in keys]
    return Estimate(keys=keys, logp=logp, backoff=backoff, info=info)


def context_blocks(keys: Column, V: int, rows: int):
    """(lo, keys) blocks of about `rows` rows that never split a context's extensions."""
    carry, lo, start = np.zeros(0, dtype=np.int64), 0, 0
    while start < len(keys) or len(carry):
        block = np.concatenate([carry, keys.read(start, start + rows)]) if len(carry) else \
            keys.read(start, start + rows)
        start += rows
        if start >= len(keys):
            yield lo, block
            return
        parents = trie.parents(block, V)
        cut = int(np.searchsorted(parents, parents[-1]))  # the last context may go on
        if cut == 0:
            carry = block
            continue
        yield lo, block[:cut]
        carry, lo = block[cut:], lo + cut


def estimate_order(c: NgramCounts, k: int, adjusted: Column, table: np.ndarray,
                   lower: Column, threshold: int | None, math, ws: Workspace,
                   ) -> tuple[Column, Column, Column]:
    """log p of every order-k n-gram, the backoffs of order k-1, and p (for order k+1)."""
    logp = ws.writer(np.float64, f"logp{k}")
    probs = ws.writer(math.dtype, f"p{k}")
    backoff = ws.writer(np.float64, f"backoff{k - 1}")
    written = 0  # contexts of order k-1 with a backoff so far
    rows = ws.budget.rows(ESTIMATE_ROW_BYTES, share=0.5)
    held = held_lower(lower, ws, c.engine)
    for lo, keys in context_blocks(c.keys[k - 1], c.V, rows):
        hi = lo + len(keys)
        a = adjusted.read(lo, hi)
        keep = (np.ones(len(keys), dtype=bool) if threshold is None
                else c.counts[k - 1].read(lo, hi) > threshold)
        suffix = c.suffix[k - 1].read(lo, hi)
        lower_p = held[suffix] if held is not None else gather(lower, suffix, ws, c.engine)
        p, contexts, gamma = block_probs(keys, a, keep, table, c.V, lower_p, math, c.engine)
        logp.append(math.log_probs(p))
        probs.append(p)
        written = write_backoffs(backoff, written, contexts, math.log_backoffs(gamma))
    fill = np.zeros(len(c.keys[k - 2]) - written)
    backoff.append(fill)
    return logp.finish(), backoff.finish(), probs.finish()


def block_probs(keys, a, keep, table, V: int, lower_p, math, engine: str,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p of a block's rows, its contexts (sorted ids) and their gamma; on the numba engine in
    double precision by `seqlm.ngram.compiled_estimate.block_probs` (the same bits)."""
    if engine == "numba" and math.name == "double":
        from seqlm.ngram.compiled_estimate import block_probs as compiled

        return compiled(keys, a, keep, table, V, lower_p)
    parents = trie.parents(keys, V)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = parents[1:] != parents[:-1]
    ctx = np.cumsum(first) - 1
    den, gamma = math.contexts(a, keep, table, ctx, int(ctx[-1]) + 1 if len(ctx) else 0)
    return math.probs(a, table, den[ctx], gamma[ctx], lower_p), parents[first], gamma


def held_lower(lower: Column, ws: Workspace, engine: str) -> np.ndarray | None:
    """Engine "numba": order k-1's spilled probabilities read once for the whole order where
    they fit the share of the budget one `gather` reads at a time (each block's suffixes
    reach across nearly all of them, so `gather` would read the whole file per block);
    else None (gathered block by block)."""
    rows = ws.budget.rows(max(lower.dtype.itemsize, 8), share=0.25)  # gather's block
    if engine != "numba" or not lower.spilled or len(lower) > rows:
        return None
    return lower.array()


def write_backoffs(writer, written: int, contexts: np.ndarray, values: np.ndarray) -> int:
    """Append backoffs up to the last of `contexts` (sorted ids), 0 for the ones skipped."""
    if not len(contexts):
        return written
    out = np.zeros(int(contexts[-1]) + 1 - written)
    out[contexts - written] = values
    writer.append(out)
    return int(contexts[-1]) + 1

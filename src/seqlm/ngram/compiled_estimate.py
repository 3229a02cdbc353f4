"""One block of interpolated Kneser-Ney, compiled: `seqlm.ngram.estimate.estimate_order`'s
per-block arithmetic in double precision, in two passes over the block.

Imported only on the numba engine with `precision="double"`. Given a block of order-k keys
(sorted, cut at context boundaries), their adjusted counts a, which are kept (pruning), the
order's discount table and p(w | h') of each row's suffix, it returns what the NumPy steps
return, bit for bit: each context's den(h) and discounted mass summed row by row in key order
(the order `np.bincount(..., weights=)` adds them in), gamma(h) = mass / den, and
p = (a - D(a)) / den + gamma p(w | h'), the same IEEE operations in the same order (no
fastmath, so nothing is fused or reassociated). The logarithms stay in NumPy
(`DoubleArithmetic.log_probs`), as LLVM's log may differ from NumPy's in the last bit.
Leaves out: lmplz's float32 steps (`precision="kenlm"`, `seqlm.ngram.single_precision`),
which stay NumPy.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")  # x / 0 is inf, as in NumPy
def block_probs(keys, a, keep, table, V, lower):
    """(p (n,), the block's contexts (C,) in order, gamma (C,)) of one block's rows."""
    n = len(keys)
    contexts = np.empty(n, dtype=np.int64)
    starts = np.empty(n + 1, dtype=np.int64)  # the block's first row of each context
    den = np.zeros(n, dtype=np.float64)
    mass = np.zeros(n, dtype=np.float64)
    c, bound = -1, np.int64(-1)  # the first key past the current context's extensions
    for i in range(n):
        if c < 0 or keys[i] >= bound:  # sorted keys: one division per context, not per row
            c += 1
            contexts[c], starts[c] = keys[i] // V, i
            bound = (contexts[c] + 1) * V
        af = np.float64(a[i])
        den[c] += af
        mass[c] += table[min(a[i], 3)] if keep[i] else af
    starts[c + 1] = n
    gamma = np.empty(c + 1, dtype=np.float64)
    p = np.empty(n, dtype=np.float64)
    for j in range(c + 1):
        g = gamma[j] = mass[j] / den[j]
        for i in range(starts[j], starts[j + 1]):
            p[i] = (np.float64(a[i]) - table[min(a[i], 3)]) / den[j] + g * lower[i]
    return p, contexts[:c + 1], gamma

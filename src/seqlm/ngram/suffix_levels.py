"""The count levels of every suffix of a context, from a suffix array (Numba `njit`): what the
smoothed ∞-gram (`seqlm.ngram.smoothed_infinigram`) interpolates over.

For the context before token t of a text, the suffix of length L occurs in the corpus at a
set of places; cnt⁺(L), the occurrences that a token follows, never grows with L (each
occurrence of a longer suffix is one of the shorter), and two lengths with the same cnt⁺
have the same occurrences, so the same next-token counts: one *level* of evidence. The
levels are found without asking every length: cnt⁺ at the ends of a range of lengths equal
means one level throughout, else the range is halved (a stack, no recursion), so a context
with a 300-byte match and 12 levels costs about 12 · log2(300) lookups, not 300. The
longest length that occurs grows by at most one per token (matching statistics), as in
`InfiniGram.token_probs`.

Per level the kernel returns L, the count of the token that came next, cnt⁺ and N1, N2,
N3+ (how many distinct tokens followed 1, 2, 3+ times: the runs of equal next tokens in the
level's range of the suffix array, which are sorted, found by galloping). One lookup is two
binary searches for the suffix's range (narrowed by the index's first-token buckets) and one
for the run of document ends inside it. Level L = 0 is the whole corpus (`unigram_level`).
Leaves out: caching levels across tokens (contexts repeat; each token is looked up anew).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def compare(tokens, p, ctx, s, e):
    """The corpus suffix at p against the pattern ctx[s:e]: -1 below it, 0 if it starts with
    it, 1 above it (a corpus suffix that ends first sorts below)."""
    n = len(tokens)
    for k in range(e - s):
        if p + k >= n:
            return -1
        a, b = tokens[p + k], ctx[s + k]
        if a < b:
            return -1
        if a > b:
            return 1
    return 0


@njit(cache=True)
def pattern_range(tokens, sa, buckets, prefix, ctx, s, e):
    """[lo, hi) of `sa` whose suffixes start with ctx[s:e] (e > s)."""
    if prefix == 2:
        key = ctx[s] * 256 + (ctx[s + 1] if e - s >= 2 else 0)
        lo, hi = buckets[key], buckets[key + 1 if e - s >= 2 else key + 256]
    else:
        lo, hi = buckets[ctx[s]], buckets[ctx[s] + 1]
    a, b = lo, hi
    while a < b:  # first suffix >= the pattern
        m = (a + b) // 2
        if compare(tokens, sa[m], ctx, s, e) < 0:
            a = m + 1
        else:
            b = m
    first, b = a, hi
    while a < b:  # first suffix above every string starting with the pattern
        m = (a + b) // 2
        if compare(tokens, sa[m], ctx, s, e) <= 0:
            a = m + 1
        else:
            b = m
    return first, a


@njit(cache=True)
def next_run(tokens, sa, L, lo, hi, v):
    """[a, b) within [lo, hi), a range of suffixes sharing their first L tokens, whose token
    at offset L is v (those tokens are sorted along the range)."""
    a, b = lo, hi
    while a < b:
        m = (a + b) // 2
        if tokens[sa[m] + L] < v:
            a = m + 1
        else:
            b = m
    return a, past(tokens, sa, L, a, hi, v)


@njit(cache=True)
def past(tokens, sa, L, a, b, v):
    """The first index in [a, b) whose token at offset L is above v (b if none): the end of
    v's run, the tokens being sorted along the range."""
    while a < b:
        m = (a + b) // 2
        if tokens[sa[m] + L] <= v:
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True)
def run_end(tokens, sa, L, i, hi):
    """The end of the run of i's token at offset L along [i, hi): galloping (steps 1, 2, 4,
    ...) past it, then `past` over the last step."""
    v = tokens[sa[i] + L]
    step = 1
    while i + step < hi and tokens[sa[i + step] + L] == v:
        step *= 2
    return past(tokens, sa, L, i + step // 2, min(i + step, hi), v)


@njit(cache=True)
def continued(tokens, sa, buckets, prefix, sep, ctx, t, L):
    """cnt⁺ of the suffix of length L of ctx[:t], and its range [lo, hi)."""
    lo, hi = pattern_range(tokens, sa, buckets, prefix, ctx, t - L, t)
    if hi == lo:
        return 0, lo, hi
    a, b = next_run(tokens, sa, L, lo, hi, sep)
    return (hi - lo) - (b - a), lo, hi


@njit(cache=True)
def run_counts(tokens, sa, L, lo, hi, sep):
    """N1, N2, N3+ of the next tokens along [lo, hi): runs found by galloping."""
    n1 = n2 = n3 = 0
    i = lo
    while i < hi:
        v = tokens[sa[i] + L]
        a = run_end(tokens, sa, L, i, hi)
        c = a - i
        if v != sep:
            if c == 1:
                n1 += 1
            elif c == 2:
                n2 += 1
            else:
                n3 += 1
        i = a
    return n1, n2, n3


@njit(cache=True)
def level_lengths(tokens, sa, buckets, prefix, sep, ctx, t, top, total):
    """One suffix length per level of ctx[:t], ascending, from 0 to the longest with cnt⁺ > 0
    (searched from `top`, known to bound it); and that longest length."""
    c_top = continued(tokens, sa, buckets, prefix, sep, ctx, t, top)[0] if top > 0 else total
    if c_top == 0:  # binary search for the longest length a token follows
        a, b = 0, top - 1
        while a < b:
            m = (a + b + 1) // 2
            if continued(tokens, sa, buckets, prefix, sep, ctx, t, m)[0] > 0:
                a = m
            else:
                b = m - 1
        top = a
        c_top = continued(tokens, sa, buckets, prefix, sep, ctx, t, top)[0] if top > 0 else total
    found = np.zeros(top + 1, dtype=np.bool_)  # a length that starts a new level
    found[0] = True
    stack = [(0, total, top, c_top)]
    while len(stack) > 0:
        a, ca, b, cb = stack.pop()
        if ca == cb or b <= a:
            continue
        if b == a + 1:
            found[b] = True
            continue
        m = (a + b) // 2
        cm = continued(tokens, sa, buckets, prefix, sep, ctx, t, m)[0] if m > 0 else total
        stack.append((a, ca, m, cm))
        stack.append((m, cm, b, cb))
    return np.flatnonzero(found), top


@njit(cache=True)
def text_levels(tokens, sa, buckets, prefix, sep, ids, unigram_stats):
    """The levels of every token of `ids` (T,) given all before it: offsets (T+1,) into flat
    (M,) arrays L, the next token's count, cnt⁺, N1, N2, N3+ and the suffix's range [lo, hi)
    of `sa`. Level 0 from `unigram_stats` (the count of each id (V,), then cnt⁺, N1, N2, N3+
    appended), its range the whole array."""
    T = len(ids)
    V = len(unigram_stats) - 4
    offsets = np.zeros(T + 1, dtype=np.int64)
    cap = 16 * T + 16
    out = np.zeros((8, cap), dtype=np.int64)
    m, top = 0, 0
    for t in range(T):
        w = ids[t]
        lengths, top = level_lengths(tokens, sa, buckets, prefix, sep, ids, t,
                                     min(top + 1, t), unigram_stats[V])
        if m + len(lengths) > cap:
            cap = 2 * (m + len(lengths))
            grown = np.zeros((8, cap), dtype=np.int64)
            grown[:, :m] = out[:, :m]
            out = grown
        for L in lengths:
            if L == 0:
                out[0, m], out[1, m] = 0, unigram_stats[w]
                out[2:6, m] = unigram_stats[V:]
                out[6, m], out[7, m] = 0, len(sa)
            else:
                c, lo, hi = continued(tokens, sa, buckets, prefix, sep, ids, t, L)
                a, b = next_run(tokens, sa, L, lo, hi, w)
                n1, n2, n3 = run_counts(tokens, sa, L, lo, hi, sep)
                out[0, m], out[1, m], out[2, m] = L, b - a, c
                out[3, m], out[4, m], out[5, m] = n1, n2, n3
                out[6, m], out[7, m] = lo, hi
            m += 1
        offsets[t + 1] = m
    return offsets, out[:, :m]


@njit(cache=True)
def count_bucket(total, n_buckets):
    """floor(log2 c⁺), capped at the last bucket: which parameters a level uses."""
    b = 0
    while total > 1 and b < n_buckets - 1:
        total >>= 1
        b += 1
    return b


@njit(cache=True)
def interpolate(offsets, levels, params, base):
    """P of every token (T,): from `base` up through its levels, shortest first, each with
    the parameters (D1, D2, D3, θ) of its c⁺ bucket (`params` (B, 4)):
    p = (max(c - D(c), 0) + (θ + D1 N1 + D2 N2 + D3 N3+) · p_shorter) / (θ + c⁺)."""
    T = len(offsets) - 1
    out = np.empty(T)
    for t in range(T):
        p = base
        for j in range(offsets[t], offsets[t + 1]):
            c, total = levels[1, j], levels[2, j]
            b = count_bucket(total, len(params))
            d1, d2, d3, theta = params[b, 0], params[b, 1], params[b, 2], params[b, 3]
            d = 0.0 if c == 0 else (d1 if c == 1 else (d2 if c == 2 else d3))
            escape = theta + d1 * levels[3, j] + d2 * levels[4, j] + d3 * levels[5, j]
            p = (max(c - d, 0.0) + escape * p) / (theta + total)
        out[t] = p
    return out

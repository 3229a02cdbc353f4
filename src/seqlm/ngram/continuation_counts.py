"""Kneser-Ney continuation counts for the levels of a context, from a suffix array (Numba
`njit`): what the smoothed ∞-gram's levels below the longest interpolate with instead of raw
counts (`seqlm.ngram.smoothed_infinigram`, `counts="continuation"`).

Kneser and Ney (1995), Chen and Goodman (1998, eq. 19): a shorter context's distribution is
used when the longer one says little, so it should count in how many *distinct* left contexts
a token followed it, N1+(• h w), not how often. A level of the context (a suffix h_L and its
occurrences, `seqlm.ngram.suffix_levels`) stands for the suffix lengths L .. L_end that share
those occurrences; every occurrence is preceded by the same L_end - L tokens, so the left
contexts that tell the occurrences apart are the tokens `shift` = L_end - L + 1 before each
occurrence's start, and the next level starts at L_end + 1 (the compressed suffix tree's node
and its children: the sequence memoizer's view, Wood et al. 2011). The longest level has no
next one and uses shift 1. A document start is one more left context (Kneser-Ney's <s>).

The suffix array's range [lo, hi) of h_L holds the occurrences sorted by the token after
them, so each next token w is a run [a, b); its continuation count k(w) is the number of
distinct tokens at sa[i] - shift for i in [a, b) (a scan with a stamp per run, no clearing).
Per level the kernel returns k of the token that came next, k⁺ = Σ_w k(w), and M1, M2, M3+
(the next tokens with k of 1, 2, 3+). A range of at most `cap` suffixes is scanned for every
token; a larger one once per text, its per-token counts kept in a table for the call (the
short suffixes: the whole corpus for L = 0). Cost: one pass over each small range, so about
as many steps per level as its count, up to `cap`.
Leaves out: a precomputed table over the corpus (the big ranges are scanned per call).
"""

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

from seqlm.ngram.suffix_levels import count_bucket, run_end

KEY = types.UniTuple(types.int64, 3)  # (L, lo, shift) of a range kept in the table


@njit(cache=True)
def scan_runs(tokens, sa, L, lo, hi, sep, shift, seen, stamp, run_ids, run_counts):
    """Every next-token run of [lo, hi) (separators left out): writes its token and its
    continuation count to run_ids, run_counts; returns how many runs and the next stamp."""
    n = 0
    i = lo
    while i < hi:
        v = tokens[sa[i] + L]
        end = run_end(tokens, sa, L, i, hi)
        if v != sep:
            stamp += 1
            k = 0
            for j in range(i, end):
                p = sa[j] - shift
                left = tokens[p] if p >= 0 else sep
                if seen[left] != stamp:
                    seen[left] = stamp
                    k += 1
            run_ids[n], run_counts[n] = v, k
            n += 1
        i = end
    return n, stamp


@njit(cache=True)
def summarize(run_ids, run_counts, n, w):
    """k(w), k⁺, M1, M2, M3+ from n runs."""
    kw = total = m1 = m2 = m3 = 0
    for r in range(n):
        k = run_counts[r]
        total += k
        if k == 1:
            m1 += 1
        elif k == 2:
            m2 += 1
        else:
            m3 += 1
        if run_ids[r] == w:
            kw = k
    return kw, total, m1, m2, m3


@njit(cache=True)
def continuation_rows(tokens, sa, sep, n_ids, ids, offsets, rows, cap):
    """k(w), k⁺, M1, M2, M3+ (5, M) of every level of `ids` (the levels' offsets (T+1,) and
    rows (8, M) of `suffix_levels.text_levels`: L in row 0, the range in rows 6, 7)."""
    out = np.zeros((5, rows.shape[1]), dtype=np.int64)
    seen = np.zeros(n_ids, dtype=np.int64)
    run_ids = np.empty(n_ids, dtype=np.int64)
    run_counts = np.empty(n_ids, dtype=np.int64)
    table = Dict.empty(key_type=KEY, value_type=types.int64)
    kept_ids = List.empty_list(types.int64)
    kept_counts = List.empty_list(types.int64)
    kept_at = List.empty_list(types.int64)
    stamp = 0
    for t in range(len(offsets) - 1):
        w = ids[t]
        for j in range(offsets[t], offsets[t + 1]):
            L, lo, hi = rows[0, j], rows[6, j], rows[7, j]
            shift = rows[0, j + 1] - L if j + 1 < offsets[t + 1] else 1
            if hi - lo <= cap:
                n, stamp = scan_runs(tokens, sa, L, lo, hi, sep, shift, seen, stamp,
                                     run_ids, run_counts)
                got = summarize(run_ids, run_counts, n, w)
            else:
                key = (L, lo, shift)
                if key not in table:
                    n, stamp = scan_runs(tokens, sa, L, lo, hi, sep, shift, seen, stamp,
                                         run_ids, run_counts)
                    table[key] = len(kept_at)
                    kept_at.append(len(kept_ids))
                    for r in range(n):
                        kept_ids.append(run_ids[r])
                        kept_counts.append(run_counts[r])
                    kept_at.append(len(kept_ids))
                at = table[key]
                n = 0
                for r in range(kept_at[at], kept_at[at + 1]):
                    run_ids[n], run_counts[n] = kept_ids[r], kept_counts[r]
                    n += 1
                got = summarize(run_ids, run_counts, n, w)
            for r in range(5):
                out[r, j] = got[r]
    return out


@njit(cache=True)
def interpolate_continuation(offsets, rows, cont, params, base, top_raw):
    """P of every token (T,) as `suffix_levels.interpolate`, each level below the longest with
    its continuation counts (k, k⁺, M1, M2, M3+ from `cont`) and the parameters of its k⁺
    bucket in params[0] (B, 4); the longest level with its raw counts and params[1] if
    `top_raw`, else like the others."""
    from_rows = np.empty(5, dtype=np.int64)
    T = len(offsets) - 1
    out = np.empty(T)
    for t in range(T):
        p = base
        for j in range(offsets[t], offsets[t + 1]):
            raw = top_raw and j == offsets[t + 1] - 1
            for r in range(5):
                from_rows[r] = rows[r + 1, j] if raw else cont[r, j]
            c, total = from_rows[0], from_rows[1]
            table = params[1] if raw else params[0]
            b = count_bucket(total, len(table))
            d1, d2, d3, theta = table[b, 0], table[b, 1], table[b, 2], table[b, 3]
            d = 0.0 if c == 0 else (d1 if c == 1 else (d2 if c == 2 else d3))
            escape = theta + d1 * from_rows[2] + d2 * from_rows[3] + d3 * from_rows[4]
            p = (max(c - d, 0.0) + escape * p) / (theta + total)
        out[t] = p
    return out

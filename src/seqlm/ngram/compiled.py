"""The compiled engine's kernels (Numba `njit`, cached on disk): ARPA lines, matches, sums.

Imported only when `seqlm.ngram.engine` picks "numba" (so small jobs never pay for
`import numba`). Each kernel computes what its NumPy reference computes, byte for byte:

- `shortest_decimals`: `seqlm.ngram.byte_layout.significant_decimals` value by value (the
  closest decimal with 9, 8, 7, 6 significant digits; the shortest that reads back as the
  same float32 wins; trailing zeros go), from the decimal exponent NumPy computed for the
  reference (`decimal_exponents`), so no logarithm is taken twice in two libraries.
- `find_matches` (`grow`, `probe`): `seqlm.ngram.matching.find_matches`, each order's pairs
  of consecutive matches and their probing lookups in one loop: the same `Match` arrays.
- `arpa_lines`: `seqlm.ngram.arpa.lines` without the padded byte matrices: each line's
  `prob<TAB>w1 ... wk[<TAB>backoff]<NL>` written straight into one buffer, sized in a first
  pass. Values NumPy formats one by one in the reference (|x| >= 1000, |x| < 1e-8) come in
  already formatted.

`arpa_block` with `threads` > 1 formats stretches of a block's lines in Python threads (the
kernels release the GIL) and joins the bytes in order: the same file.
Leaves out: `prange` (Python threads over nogil kernels, as `seqlm.ngram.compiled_score`).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from seqlm.ngram.byte_layout import decimal_exponents

POW10F = 10.0 ** np.arange(-30, 31)  # 10.0**e at index e + 30, as byte_layout's
POW10 = 10 ** np.arange(19, dtype=np.int64)
MAX_DECIMALS = 16
TAB, BLANK, NEWLINE, MINUS, POINT, ZERO = 9, 32, 10, 45, 46, 48
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # seqlm.ngram.probing's
BOS = 1  # seqlm.ngram.stream.NGRAM_BOS_ID
MIN_THREAD_LINES = 16_384  # fewer lines per thread cost more to hand out than they save


@njit(cache=True, nogil=True, error_model="numpy")
def shortest_decimals(a, e):
    """(scaled, decimals) of every a >= 0 (N,) float64 with decimal exponents e (N,)."""
    n = len(a)
    scaled = np.empty(n, dtype=np.int64)
    decimals = np.empty(n, dtype=np.int64)
    for i in range(n):
        target = np.float32(a[i])
        best, best_d = 0.0, 0
        for digits in (9, 8, 7, 6):
            d = min(max(digits - 1 - e[i], 0), MAX_DECIMALS)
            power = POW10F[d + 30]
            sc = np.rint(a[i] * power)
            if digits == 9 or np.float32(sc / power) == target:
                best, best_d = sc, d
        s = np.int64(best)
        while best_d > 0 and s % 10 == 0:
            s //= 10
            best_d -= 1
        scaled[i], decimals[i] = s, best_d
    return scaled, decimals


@njit(cache=True, error_model="numpy")
def _split(scaled, d):
    """(integer part, fraction digits) of scaled / 10**d as unsigned ints (fast division)."""
    s = np.uint64(scaled)
    integer = s // np.uint64(POW10[d])
    return integer, s - integer * np.uint64(POW10[d])


@njit(cache=True, error_model="numpy")
def _int_width(integer):
    width = 1
    while integer >= 10:
        integer //= np.uint64(10)
        width += 1
    return width


@njit(cache=True, error_model="numpy")
def _number_size(scaled, d, neg):
    integer, _ = _split(scaled, d)
    return _int_width(integer) + neg + (1 + d if d > 0 else 0)


@njit(cache=True, error_model="numpy")
def _put_number(out, at, scaled, d, neg):
    if neg:
        out[at] = MINUS
        at += 1
    integer, fraction = _split(scaled, d)
    width = _int_width(integer)
    for j in range(width - 1, -1, -1):
        out[at + j] = ZERO + integer % np.uint64(10)
        integer //= np.uint64(10)
    at += width
    if d > 0:
        out[at] = POINT
        for j in range(d, 0, -1):
            out[at + j] = ZERO + fraction % np.uint64(10)
            fraction //= np.uint64(10)
        at += 1 + d
    return at


@njit(cache=True, error_model="numpy")
def _value_size(i, scaled, dec, neg, rare, rare_off):
    if rare[i] >= 0:
        return rare_off[rare[i] + 1] - rare_off[rare[i]]
    return _number_size(scaled[i], dec[i], neg[i])


@njit(cache=True, error_model="numpy")
def _put_value(out, at, i, scaled, dec, neg, rare, rare_blob, rare_off):
    if rare[i] < 0:
        return _put_number(out, at, scaled[i], dec[i], neg[i])
    for j in range(rare_off[rare[i]], rare_off[rare[i] + 1]):
        out[at] = rare_blob[j]
        at += 1
    return at


@njit(cache=True, nogil=True, error_model="numpy")
def arpa_lines(p, b, has_backoff, b_zero, words, tok_blob, tok_off):
    """The bytes of a block's lines. p and b: (scaled, decimals, negative, rare index, rare
    blob, rare offsets) of log10 p and of the backoffs; words (k, n) token ids."""
    k, n = words.shape
    size = 0
    for i in range(n):  # pass 1: the exact size
        size += _value_size(i, p[0], p[1], p[2], p[3], p[5]) + k + 1
        for j in range(k):
            w = words[j, i]
            size += tok_off[w + 1] - tok_off[w]
        if has_backoff and not b_zero[i]:
            size += 1 + _value_size(i, b[0], b[1], b[2], b[3], b[5])
    out = np.empty(size, dtype=np.uint8)
    at = 0
    for i in range(n):  # pass 2: the bytes
        at = _put_value(out, at, i, p[0], p[1], p[2], p[3], p[4], p[5])
        for j in range(k):
            out[at] = TAB if j == 0 else BLANK
            at += 1
            w = words[j, i]
            for c in range(tok_off[w], tok_off[w + 1]):
                out[at] = tok_blob[c]
                at += 1
        if has_backoff and not b_zero[i]:
            out[at] = TAB
            at = _put_value(out, at + 1, i, b[0], b[1], b[2], b[3], b[4], b[5])
        out[at] = NEWLINE
        at += 1
    return out


def find_matches(model, ids: np.ndarray, oov: np.ndarray) -> list:
    """`seqlm.ngram.matching.find_matches` with each order's pairs and probes compiled: the
    same `Match` arrays."""
    from seqlm.ngram.matching import Match

    at = np.flatnonzero(~oov)
    found = [Match(at, ids[at], ids[at], np.zeros(len(at), bool), np.zeros(len(at), bool))]
    for k in range(2, model.order + 1):
        prev, index = found[-1], model.index(k)
        hit, got = grow(prev.at, prev.ids, prev.words, np.asarray(index.keys),
                        np.asarray(index.slots), index.bits, model.V, k == 2)
        prev.extended[hit] = True
        prev.context_used[hit - 1] = True
        found.append(Match(prev.at[hit], got, prev.words[hit], np.zeros(len(hit), bool),
                           np.zeros(len(hit), bool)))
    return found


def formatted(values10: np.ndarray) -> tuple:
    """What `arpa_lines` takes of float32 log10 values (N,): scaled, decimals, negative,
    rare index (-1, or the row's place among the texts NumPy formats), rare blob and offsets."""
    v = np.asarray(values10, dtype=np.float32).astype(np.float64)
    a = np.abs(v)
    scaled, dec = shortest_decimals(a, decimal_exponents(a))
    rare_rows = np.flatnonzero((scaled // POW10[dec] >= 1000) | ((a < 1e-8) & (a > 0)))
    texts = [np.format_float_positional(np.float32(x), unique=True, trim="-").encode()
             for x in v[rare_rows].tolist()]
    rare = np.full(len(v), -1, dtype=np.int64)
    rare[rare_rows] = np.arange(len(rare_rows))
    blob = np.frombuffer(b"".join(texts), dtype=np.uint8)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in texts])
    return scaled, dec, (v < 0) & (scaled > 0), rare, blob, offsets


def token_blob(tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The escaped tokens as one byte blob (B,) and where each starts (V+1,)."""
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in tokens])
    return np.frombuffer(b"".join(tokens), dtype=np.uint8), offsets


def arpa_block(prob10: np.ndarray, backoff10: np.ndarray | None, words: list[np.ndarray],
               tokens: tuple[np.ndarray, np.ndarray], threads: int = 1) -> bytes:
    """A block's ARPA lines, as `seqlm.ngram.arpa.lines` writes them; `threads` > 1 formats
    that many stretches of lines at once (the kernels release the GIL) and joins them."""
    if threads > 1 and len(prob10) >= 2 * MIN_THREAD_LINES:
        cuts = np.linspace(0, len(prob10), min(threads, len(prob10) // MIN_THREAD_LINES) + 1)
        cuts = cuts.astype(np.int64).tolist()
        stretches = [(prob10[a:b], None if backoff10 is None else backoff10[a:b],
                      [w[a:b] for w in words]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        with ThreadPoolExecutor(len(stretches)) as pool:
            parts = pool.map(lambda s: arpa_block(*s, tokens), stretches)
            return b"".join(parts)
    p = formatted(prob10)
    has_backoff = backoff10 is not None
    b = formatted(backoff10) if has_backoff else p
    zero = backoff10 == 0 if has_backoff else np.zeros(len(prob10), dtype=bool)
    stacked = np.stack([np.asarray(w, dtype=np.int64) for w in words]) if len(prob10) else \
        np.zeros((len(words), 0), dtype=np.int64)
    return arpa_lines(p, b, has_backoff, zero, stacked, tokens[0], tokens[1]).tobytes()


@njit(cache=True, error_model="numpy")
def probe(keys, slots, bits, queries):
    """`seqlm.ngram.probing.ProbingIndex.find`, one query at a time: ranks or -1. (Q,)"""
    out = np.full(len(queries), -1, dtype=np.int64)
    if len(keys) == 0:
        return out
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    for i in range(len(queries)):
        q = queries[i]
        slot = np.int64((np.uint64(q) * MULTIPLIER) >> shift)
        while True:
            rank = slots[slot]
            if rank < 0:
                break
            if keys[rank] == q:
                out[i] = rank
                break
            slot = (slot + 1) & mask
    return out


@njit(cache=True, error_model="numpy")
def grow(at, ids, words, keys, slots, bits, V, first_order):
    """One order of `seqlm.ngram.matching.find_matches`: of the pairs (p-1, p) of consecutive
    positions among the previous order's matches, the p whose n-gram is held, and its id."""
    n = len(at)
    queries = np.empty(n, dtype=np.int64)
    pairs = np.empty(n, dtype=np.int64)
    m = 0
    for p in range(1, n):
        if at[p] - at[p - 1] == 1 and not (first_order and words[p] == BOS):
            pairs[m] = p
            queries[m] = ids[p - 1] * V + words[p]
            m += 1
    got = probe(keys, slots, bits, queries[:m])
    held = got >= 0
    return pairs[:m][held], got[held]

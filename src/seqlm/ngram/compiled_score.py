"""Scoring a text in one compiled call per chunk of lines: UTF-8 bytes -> ids -> matches -> sums.

`NgramModel.piece_totals` on the numba engine, for the backoff form (every ARPA or binary
model). One kernel per chunk (`kenlm_chunk`, `double_chunk`) does what
`seqlm.ngram.text_ids.encode`, `seqlm.ngram.matching.find_matches` and the sums do in NumPy
passes, with no Python per token or per order:

- `seqlm.ngram.compiled_text.stream_ids`: each line's bytes -> `<s> w1 ... </s>` ids, the
  tokens hashed and looked up in the vocabulary's slots;
- `match_block`: the match grows as KenLM's query grows it: the order-k n-gram ending at a
  word is looked for only if the order-(k-1) ones ended at the word before (its context,
  which must start some order-k n-gram) and at this word, in the slot tables of
  `seqlm.ngram.compiled_tables`. A block of lines is matched order by order, so the probes
  of one order are independent and their cache misses overlap (as `seqlm.ngram.matching`
  does in NumPy); each hit brings its probability and backoff in the same cache line;
- the sums are the reference's, term for term. precision "kenlm": each token's float32 log10
  (the longest match's probability, then the backoffs of longer contexts, shortest first)
  added to its sentence's float32 sum (`single_precision.kenlm_totals`). Double precision:
  `forms.Backoff.total`'s terms, each order's probabilities and backoffs in text order, so
  NumPy adds the same arrays (`forms.add_up`): the same totals to the last bit.

`threads` > 1 cuts a piece into that many chunks of whole lines, scored by threads at once
(the kernels release the GIL; Python threads rather than `prange`, because each chunk's
terms are of a length known only once scored); the chunks' terms are joined in text order
before anything is added, so the result does not depend on the number of threads (tested).
Leaves out: the floor and stupid-backoff forms (they score through `find_matches`), and a
chunk inside one line.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from seqlm.ngram.compiled_tables import EXTENDS, compiled_tables, probe
from seqlm.ngram.compiled_text import grown, home, prefetch, stream_ids
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, NGRAM_UNK_ID, OOV_MARK

UNITS = {"word": 0, "char": 1, "byte": 2}
BLOCK = 4096  # positions matched order by order at a time: their arrays stay in cache
AHEAD = 16  # probes between a slot's prefetch and its read


@njit(cache=True, nogil=True)
def match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank, pv,
                bv, ask):
    """The matches ending at positions s..e-1 (q = p - s; s is a `<s>`): d[q] the longest
    order held (0 at an OOV), and per order k rank[k-1, q] (order 1: the word's id, else its
    row in order k's slots; ~ that where no longer n-gram starts with it), its probability
    pv[k-1, q] and backoff bv[k-1, q]. Order by order, as `matching.find_matches`: first the
    positions to ask about (`ask`: position, key), then their probes, each one's home slot
    prefetched AHEAD probes before, so the cache misses overlap. A context that starts no
    longer n-gram is not asked about (its probe would fail)."""
    for q in range(e - s):
        w = ids[s + q]
        if w == OOV_MARK:
            d[q] = 0
        else:
            d[q], pv[0, q], bv[0, q] = 1, unigrams[w, 0], unigrams[w, 1]
            rank[0, q] = w if extends[w] else ~w
    for k in range(2, N + 1):
        m = 0
        for q in range(1, e - s):
            # context held at q-1, suffix at q; <s> ends no n-gram ("</s> <s>" never asked)
            if d[q] == k - 1 and d[q - 1] >= k - 1 and rank[k - 2, q - 1] >= 0 and \
                    ids[s + q] != NGRAM_BOS_ID:
                ask[0, m], ask[1, m] = q, rank[k - 2, q - 1] * V + ids[s + q]
                m += 1
        at, nbits = slot_at[k - 1], bits[k - 1]
        for i in range(m):
            if i + AHEAD < m:  # the probe AHEAD queries on starts its cache miss now
                prefetch(rec, at + home(ask[1, i + AHEAD], nbits))
            q = ask[0, i]
            r = probe(rec, at, nbits, ask[1, i])
            if r >= 0:
                d[q], rank[k - 1, q] = k, r - at if rec[r, 0] & EXTENDS else ~(r - at)
                pv[k - 1, q], bv[k - 1, q] = values[r, 0], values[r, 1]


@njit(cache=True, nogil=True)
def blocks(ids, longest, N, dtype_of):
    """Block arrays (d, rank, pv, bv, ask) for BLOCK positions plus a whole line."""
    cap = BLOCK + longest
    return (np.empty(cap, np.int64), np.empty((N, cap), np.int64),
            np.empty((N, cap), dtype_of.dtype), np.empty((N, cap), dtype_of.dtype),
            np.empty((2, cap), np.int64))


@njit(cache=True, nogil=True)
def block_end(ids, s):
    """The first `<s>` from s + BLOCK on, or the end: blocks hold whole lines."""
    e = min(s + BLOCK, len(ids))
    while e < len(ids) and ids[e] != NGRAM_BOS_ID:
        e += 1
    return e


@njit(cache=True, nogil=True)
def kenlm_chunk(buf, lo, hi, unit, vocab, byte_ids, markers, N, V, rec, slot_at, bits, values,
                unigrams, extends):
    """precision "kenlm" over the lines of buf[lo:hi]: float32 sums per line (lines,), the
    OOVs' float32 values in order, and (scored tokens, OOVs, lines). Per token, as KenLM's
    `FullScore`: the longest match's float32 log10 p, then the backoffs of the longer
    contexts held before it, shortest first; each line's sum in float32, left to right."""
    ids, longest = stream_ids(buf, lo, hi, unit, vocab, byte_ids, markers)
    d, rank, pv, bv, ask = blocks(ids, longest, N, unigrams)
    sums = np.zeros(len(ids), dtype=np.float32)
    oov_values = np.empty(16, dtype=np.float32)
    tokens = oovs = lines = 0
    total = np.float32(0.0)
    s = 0
    while s < len(ids):
        e = block_end(ids, s)
        match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank,
                    pv, bv, ask)
        for q in range(e - s):
            w = ids[s + q]
            if w == NGRAM_BOS_ID:
                total = np.float32(0.0)
                continue
            v = unigrams[NGRAM_UNK_ID, 0] if d[q] == 0 else pv[d[q] - 1, q]
            for j in range(max(d[q], 1), min(d[q - 1], N - 1) + 1):
                v = v + bv[j - 1, q - 1]
            total = total + v
            tokens += 1
            if d[q] == 0:
                if oovs == len(oov_values):
                    oov_values = grown(oov_values)
                oov_values[oovs] = v
                oovs += 1
            if w == NGRAM_EOS_ID:
                sums[lines] = total
                lines += 1
        s = e
    return sums[:lines], oov_values[:oovs], np.array([tokens, oovs, lines], dtype=np.int64)


@njit(cache=True, nogil=True)
def double_chunk(buf, lo, hi, unit, vocab, byte_ids, markers, N, V, rec, slot_at, bits, values,
                 unigrams, extends):
    """Double precision over the lines of buf[lo:hi]: `forms.Backoff.total`'s terms, rows
    0..N-1 the probability of each order's final matches, rows N..2N-2 each order's backoffs
    applied, rows 2N-1..3N-3 those of them before an OOV, each in text order; the count of
    each row; and (scored tokens, OOVs, lines)."""
    ids, longest = stream_ids(buf, lo, hi, unit, vocab, byte_ids, markers)
    d, rank, pv, bv, ask = blocks(ids, longest, N, unigrams)
    # a row gets at most one term per position; pages never written are never touched
    terms = np.empty((3 * N - 2, len(ids)), dtype=np.float64)
    counts = np.zeros(3 * N - 2, dtype=np.int64)
    tokens = oovs = lines = 0
    s = 0
    while s < len(ids):
        e = block_end(ids, s)
        match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank,
                    pv, bv, ask)
        for q in range(e - s):
            w = ids[s + q]
            if w == NGRAM_BOS_ID:
                continue
            if d[q] > 0:
                terms[d[q] - 1, counts[d[q] - 1]] = pv[d[q] - 1, q]
                counts[d[q] - 1] += 1
            for j in range(max(d[q], 1), min(d[q - 1], N - 1) + 1):
                terms[N + j - 1, counts[N + j - 1]] = bv[j - 1, q - 1]
                counts[N + j - 1] += 1
                if d[q] == 0:
                    terms[2 * N + j - 2, counts[2 * N + j - 2]] = bv[j - 1, q - 1]
                    counts[2 * N + j - 2] += 1
            tokens += 1
            if d[q] == 0:
                oovs += 1
            if w == NGRAM_EOS_ID:
                lines += 1
        s = e
    return terms, counts, np.array([tokens, oovs, lines], dtype=np.int64)


def chunk_bounds(data: bytes, parts: int) -> list[int]:
    """Byte offsets cutting data into up to `parts` runs of whole lines."""
    bounds = [0]
    for p in range(1, parts):
        cut = data.find(b"\n", max(bounds[-1], len(data) * p // parts))
        if cut < 0:
            break
        if cut + 1 < len(data):
            bounds.append(cut + 1)
    return bounds + [len(data)]


def piece_totals(model, piece: str, threads: int = 1) -> np.ndarray:
    """`NgramModel.piece_totals` in compiled kernels: tokens, OOVs, sentences, nll and OOV
    nll (nats) of whole lines. (5,)"""
    from seqlm.metrics import log10_to_nats
    from seqlm.ngram.forms import add_up

    tables = compiled_tables(model)
    data = piece.encode("utf-8")
    buf = np.frombuffer(data, dtype=np.uint8)
    bounds = chunk_bounds(data, max(1, threads))
    kernel = kenlm_chunk if model.precision == "kenlm" else double_chunk

    def run(c: int):
        vocab, byte_ids, markers, *index = tables
        return kernel(buf, bounds[c], bounds[c + 1], UNITS[model.unit], vocab, byte_ids,
                      markers, model.order, model.V, *index)

    if len(bounds) > 2:
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            parts = list(pool.map(run, range(len(bounds) - 1)))
    else:
        parts = [run(0)]
    tokens, oovs, lines = np.sum([p[-1] for p in parts], axis=0)
    if model.precision == "kenlm":  # as single_precision.kenlm_totals adds
        total10 = float(np.concatenate([p[0] for p in parts]).astype(np.float64).sum())
        oov10 = float(np.concatenate([p[1] for p in parts]).astype(np.float64).sum())
        nll, oov_nll = -log10_to_nats(total10), -log10_to_nats(oov10)
    else:
        N = model.order
        rows = [np.concatenate([p[0][r, :p[1][r]] for p in parts]) for r in range(3 * N - 2)]
        total, oov_total = add_up(model, int(oovs), rows[:N], rows[N:2 * N - 1], rows[2 * N - 1:])
        nll, oov_nll = -total, -oov_total
    return np.array([tokens, oovs, lines, nll, oov_nll], dtype=np.float64)

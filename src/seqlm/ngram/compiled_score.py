"""Scoring a text in one compiled pass per chunk of lines: UTF-8 bytes -> ids -> matches -> sums.

`NgramModel.piece_totals` on the numba engine, for the backoff form (every ARPA or binary
model). One loop over the text's bytes does what `seqlm.ngram.text_ids.encode`,
`seqlm.ngram.matching.find_matches` and the sums do in NumPy passes, line by line:

- each token's bytes are hashed as `seqlm.ngram.vocab_hash.byte_keys` hashes them (8 bytes at
  a time, splitmix64's finaliser) and looked up in the vocabulary's probing table (built once
  per vocabulary and kept on it); bytes go through a 256-entry table;
- the match grows as KenLM's query grows it: the order-k n-gram ending at a word is looked for
  only if the order-(k-1) one ended at the word before (its context) and at this word,
  `key = id(context) * V + word` in order k's probing index;
- the sums are the reference's, term for term. precision "kenlm": each token's float32 log10
  (the longest match's probability, then the backoffs of longer contexts, shortest first)
  added to its sentence's float32 sum (`single_precision.kenlm_totals`). Double precision:
  `forms.Backoff.total`'s terms, each order's probabilities and backoffs in position order, so
  NumPy adds the same arrays (`forms.add_up`): the same totals to the last bit.

`threads` > 1 cuts a piece into that many chunks of whole lines, scored by threads at once
(the kernels release the GIL); each chunk's terms come back in text order and are joined
before anything is added, so the result does not depend on the number of threads (tested).
The tables go into one contiguous array per kind (keys, slots, values, with each order's
offset) once per model (`NgramModel.compiled_tables`): a copy of a mapped binary's tables.
Leaves out: the floor and stupid-backoff forms (they score through `find_matches`), and a
chunk inside one line.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, NGRAM_UNK_ID, OOV_MARK, SKIP_MARK

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # vocab_hash's seed, and probing's multiplier
M1, M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
UNITS = {"word": 0, "char": 1, "byte": 2}
WORD_BREAK = np.zeros(256, dtype=np.uint8)  # 1: space, tab, CR between words; 2: newline
WORD_BREAK[[32, 9, 13]], WORD_BREAK[10] = 1, 2
BLOCK = 4096  # positions matched order by order at a time: their arrays stay in cache


@njit(cache=True, nogil=True, inline="always")
def mix(h):
    h = (h ^ (h >> np.uint64(30))) * M1
    h = (h ^ (h >> np.uint64(27))) * M2
    return h ^ (h >> np.uint64(31))


@njit(cache=True, nogil=True)
def span_key(buf, a, b):
    """`vocab_hash.byte_keys` of buf[a:b]: its bytes 8 at a time, little-endian, mixed in."""
    h = np.uint64(b - a) * GOLDEN
    while a < b:
        w = np.uint64(0)
        for j in range(min(b - a, 8)):
            w |= np.uint64(buf[a + j]) << np.uint64(8 * j)
        h = mix(h ^ w)
        a += 8
    return np.int64(mix(h) >> np.uint64(1))


@njit(cache=True, nogil=True)
def probe(rec, at, bits, q):
    """The row of key q among the slot records rec[at:at + 2**bits] (column 0: the key, -1
    where empty), or -1: `ProbingIndex.find`'s walk over the same slots."""
    mask = (1 << bits) - 1
    slot = np.int64((np.uint64(q) * GOLDEN) >> np.uint64(64 - bits))
    while True:
        key = rec[at + slot, 0]
        if key == q:
            return at + slot
        if key < 0:
            return -1
        slot = (slot + 1) & mask


@njit(cache=True, nogil=True)
def next_token(buf, i, hi, unit):
    """(start, end) of the next token of the line at byte i, or (i', -1) at the line's end
    (i' on its newline or at hi)."""
    if unit == 0:
        while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
            i += 1
        if i >= hi or buf[i] == 10:
            return i, -1
        j = i + 1
        while j < hi and buf[j] != 32 and buf[j] != 9 and buf[j] != 13 and buf[j] != 10:
            j += 1
        return i, j
    if i >= hi or buf[i] == 10:
        return i, -1
    j = i + 1
    if unit == 1:
        while j < hi and (buf[j] & 0xC0) == 0x80:
            j += 1
    return i, j


@njit(cache=True, nogil=True)
def next_word(buf, i, hi):
    """(start, end, key) of the next word of the line at byte i (key: `span_key`, its first
    8 bytes gathered in the same scan), or (i', -1, 0) at the line's end."""
    while i < hi and WORD_BREAK[buf[i]] == 1:
        i += 1
    if i >= hi or buf[i] == 10:
        return i, -1, np.int64(0)
    a = i
    w = np.uint64(0)
    while i < hi and WORD_BREAK[buf[i]] == 0:
        if i - a < 8:
            w |= np.uint64(buf[i]) << np.uint64(8 * (i - a))
        i += 1
    if i - a > 8:
        return a, i, span_key(buf, a, i)
    return a, i, np.int64(mix(mix((np.uint64(i - a) * GOLDEN) ^ w)) >> np.uint64(1))


@njit(cache=True, nogil=True)
def key_id(key, vocab, markers):
    """The id of a token's key, SKIP_MARK for `<s>`/`</s>`, OOV_MARK for `<unk>` or unknown."""
    vrec, vbits = vocab
    if key == markers[0] or key == markers[1]:
        return SKIP_MARK
    if key == markers[2]:
        return OOV_MARK
    row = probe(vrec, 0, vbits, key)
    return OOV_MARK if row < 0 else vrec[row, 1]


@njit(cache=True, nogil=True)
def token_id(buf, a, b, unit, vocab, byte_ids, markers):
    """The token's id, SKIP_MARK for literal `<s>`/`</s>`, OOV_MARK for `<unk>` or unknown."""
    if unit == 2:
        return byte_ids[buf[a]]
    vrec, vbits = vocab
    key = span_key(buf, a, b)
    if key == markers[0] or key == markers[1]:
        return SKIP_MARK
    if key == markers[2]:
        return OOV_MARK
    row = probe(vrec, 0, vbits, key)
    return OOV_MARK if row < 0 else vrec[row, 1]


@njit(cache=True, nogil=True)
def grown(ids):
    """ids twice as long, the first half copied."""
    return np.concatenate((ids, np.empty_like(ids)))


@njit(cache=True, nogil=True)
def stream_ids(buf, lo, hi, unit, vocab, byte_ids, markers):
    """The lines of buf[lo:hi] as `<s> w1 ... </s>` ids, OOV_MARK for an OOV (as
    `text_ids.encode` lays them out), and the longest line's length."""
    ids = np.empty(max(16, (hi - lo) // 4), np.int64)
    n = longest = 0
    i = lo
    while i < hi:
        first = n
        if n + 2 > len(ids):  # room for <s> and </s>
            ids = grown(ids)
        ids[n] = NGRAM_BOS_ID
        n += 1
        while True:
            if unit == 0:
                a, b, key = next_word(buf, i, hi)
            else:
                a, b = next_token(buf, i, hi, unit)
                key = 0
            if b < 0:
                i = a + 1  # past the newline
                break
            i = b
            w = key_id(key, vocab, markers) if unit == 0 else \
                token_id(buf, a, b, unit, vocab, byte_ids, markers)
            if w != SKIP_MARK:
                if n + 2 > len(ids):
                    ids = grown(ids)
                ids[n] = w
                n += 1
        ids[n] = NGRAM_EOS_ID
        n += 1
        longest = max(longest, n - first)
    return ids[:n], longest


@njit(cache=True, nogil=True)
def match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank, pv,
                bv):
    """The matches ending at positions s..e-1 (q = p - s; s is a `<s>`): d[q] the longest
    order held (0 at an OOV), and per order k rank[k-1, q] (its id, or ~id where no order-k+1
    n-gram starts with it), its probability pv[k-1, q] and backoff bv[k-1, q]. Order by
    order, as `matching.find_matches`: the probes of one order are independent, so their
    cache misses overlap; a context that starts no longer n-gram is not asked about (its
    probe would fail: KenLM's query skips it too)."""
    for q in range(e - s):
        w = ids[s + q]
        if w == OOV_MARK:
            d[q] = 0
        else:
            d[q], pv[0, q], bv[0, q] = 1, unigrams[w, 0], unigrams[w, 1]
            rank[0, q] = w if extends[w] else ~w
    for k in range(2, N + 1):
        at, nbits = slot_at[k - 1], bits[k - 1]
        for q in range(1, e - s):
            # context held at q-1, suffix at q; <s> ends no n-gram ("</s> <s>" never asked)
            if d[q] == k - 1 and d[q - 1] >= k - 1 and rank[k - 2, q - 1] >= 0 and \
                    ids[s + q] != NGRAM_BOS_ID:
                r = probe(rec, at, nbits, rank[k - 2, q - 1] * V + ids[s + q])
                if r >= 0:
                    d[q], rank[k - 1, q] = k, rec[r, 1]
                    pv[k - 1, q], bv[k - 1, q] = values[r, 0], values[r, 1]


@njit(cache=True, nogil=True)
def blocks(ids, longest, N, dtype_of):
    """Block arrays (d, rank, pv, bv) for BLOCK positions plus a whole line."""
    cap = BLOCK + longest
    return (np.empty(cap, np.int64), np.empty((N, cap), np.int64),
            np.empty((N, cap), dtype_of.dtype), np.empty((N, cap), dtype_of.dtype))


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
    d, rank, pv, bv = blocks(ids, longest, N, unigrams)
    sums = np.zeros(len(ids), dtype=np.float32)
    oov_values = np.empty(16, dtype=np.float32)
    tokens = oovs = lines = 0
    total = np.float32(0.0)
    s = 0
    while s < len(ids):
        e = block_end(ids, s)
        match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank,
                    pv, bv)
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
    d, rank, pv, bv = blocks(ids, longest, N, unigrams)
    # a row gets at most one term per position; pages never written are never touched
    terms = np.empty((3 * N - 2, len(ids)), dtype=np.float64)
    counts = np.zeros(3 * N - 2, dtype=np.int64)
    tokens = oovs = lines = 0
    s = 0
    while s < len(ids):
        e = block_end(ids, s)
        match_block(ids, s, e, N, V, rec, slot_at, bits, values, unigrams, extends, d, rank,
                    pv, bv)
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


def compiled_tables(model) -> tuple:
    """What the kernels take, built once per model (`NgramModel.compiled_tables`): the
    vocabulary's slot records (key, id), the 256 byte ids, the keys of `<s>`, `</s>`, `<unk>`,
    then every order's slot records end to end (`slot_records`), where each order's start and
    its slot bits, their (probability, backoff) columns, and the unigrams' (V, 2)."""
    if model.compiled_tables is None:
        from seqlm.data.vocab import BOS, EOS, UNK
        from seqlm.ngram.single_precision import float32_tables
        from seqlm.ngram.vocab_hash import hashed_ids, token_keys

        hashed = hashed_ids(model.vocab)
        vrec = np.full((len(hashed.index.slots), 2), -1, dtype=np.int64)
        held = np.flatnonzero(np.asarray(hashed.index.slots) >= 0)
        ranks = np.asarray(hashed.index.slots)[held]
        vrec[held, 0], vrec[held, 1] = np.asarray(hashed.sorted_keys)[ranks], \
            np.asarray(hashed.order)[ranks]
        byte_ids = model.vocab.ids([chr(i) for i in range(256)]) if model.unit == "byte" \
            else np.zeros(256, dtype=np.int64)
        if model.precision == "kenlm":
            prob, prob_at, back, back_at = float32_tables(model)
            probs = [prob[a:a + n] for a, n in zip(prob_at, model.sizes(), strict=True)]
            backs = [back[a:a + n] for a, n in zip(back_at, model.sizes()[:-1], strict=False)]
        else:
            probs = [np.asarray(t, dtype=np.float64) for t in model.logp]
            backs = [np.asarray(t, dtype=np.float64) for t in model.backoff]
        rec, slot_at, bits, values = slot_records(model, probs, backs)
        extends = starts_longer(model, 1)
        unigrams = np.zeros((model.V, 2), dtype=probs[0].dtype)
        unigrams[:, 0] = probs[0]
        if backs:
            unigrams[:, 1] = backs[0]
        model.compiled_tables = ((vrec, hashed.index.bits), byte_ids, token_keys([BOS, EOS, UNK]),
                                 rec, slot_at, bits, values, unigrams, extends)
    return model.compiled_tables


def slot_records(model, probs: list[np.ndarray], backs: list[np.ndarray]) -> tuple:
    """Orders 2..N's probing slots as 32-byte records (key or -1, id, probability, backoff),
    so one probe reads one cache line (KenLM's probing tables keep key and values together);
    the slots are `ProbingIndex`'s, so every walk is the reference's. Returns the records
    (S, 4) int64, each order's first row (N,), slot bits (N,), and the value columns (S, 2)
    viewed in the values' dtype."""
    sizes = [0] + [len(model.index(k).slots) for k in range(2, model.order + 1)]
    rec = np.full((sum(sizes), 4), -1, dtype=np.int64)
    rec[:, 2:] = 0
    dtype = probs[0].dtype
    values = rec.view(dtype)[:, 16 // dtype.itemsize:16 // dtype.itemsize + 2]
    slot_at = np.cumsum(sizes).astype(np.int64) - np.array(sizes)
    for k in range(2, model.order + 1):
        slots = np.asarray(model.index(k).slots)
        held = np.flatnonzero(slots >= 0)
        ranks = slots[held].astype(np.int64)
        at = slot_at[k - 1] + held
        rec[at, 0] = np.asarray(model.index(k).keys)[ranks]
        rec[at, 1] = np.where(starts_longer(model, k)[ranks], ranks, ~ranks)
        values[at, 0] = probs[k - 1][ranks]
        if k < model.order:
            values[at, 1] = backs[k - 1][ranks]
    bits = np.array([0] + [model.index(k).bits for k in range(2, model.order + 1)])
    return rec, slot_at, bits.astype(np.int64), values


def starts_longer(model, k: int) -> np.ndarray:
    """Whether each order-k n-gram is the context of some order-(k+1) n-gram. (M_k,) bool"""
    out = np.zeros(model.sizes()[k - 1], dtype=bool)
    if k < model.order:
        out[np.asarray(model.keys[k]) // model.V] = True
    return out


def offsets(arrays: list[np.ndarray]) -> np.ndarray:
    """Where each array starts when they are laid end to end. (len(arrays),) int64"""
    return np.cumsum([0] + [len(a) for a in arrays[:-1]]).astype(np.int64)


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

"""A scored text's bytes -> token ids, compiled: what `seqlm.ngram.text_ids.encode` does.

The kernels of `seqlm.ngram.compiled_score` start here, per chunk of whole lines: each line
becomes `<s> w1 ... </s>` ids (`stream_ids`), with KenLM's rules as `seqlm.ngram.stream`
states them (words split on space, tab and CR; literal `<s>`, `</s>` are whitespace; `<unk>`
and unknown tokens are OOV). A word's bytes are hashed in the scan that finds its end (the
first 8 bytes gathered as they pass; `span_key` for longer ones), exactly as
`seqlm.ngram.vocab_hash.byte_keys` hashes (splitmix64's finaliser, 8 bytes at a time,
seeded with the length), and looked up in the vocabulary's slots, laid out as records
(key, id) by `seqlm.ngram.compiled_tables`. Characters are the spans of a lead byte and its
continuation bytes; bytes go through a 256-entry table.
Leaves out: hashing more than one token at a time (SIMD).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, OOV_MARK, SKIP_MARK

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # vocab_hash's seed, and probing's multiplier
M1, M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
WORD_BREAK = np.zeros(256, dtype=np.uint8)  # 1: space, tab, CR between words; 2: newline
WORD_BREAK[[32, 9, 13]], WORD_BREAK[10] = 1, 2
LINE_START, LINE_END = -2, -3  # in a stream of keys (keys are >= 0)
AHEAD = 16  # lookups between a slot's prefetch and its read


@njit(cache=True, nogil=True, inline="always")
def mix(h):
    h = (h ^ (h >> np.uint64(30))) * M1
    h = (h ^ (h >> np.uint64(27))) * M2
    return h ^ (h >> np.uint64(31))


@intrinsic
def prefetch(typingctx, rec, row):
    """Ask the CPU to bring rec[row, 0] (a C-contiguous 2-D array) into cache, without waiting
    for it (LLVM's `llvm.prefetch`: read, high locality)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1], zero])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        signature_ir = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, signature_ir, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(rec, row), codegen


@njit(cache=True, nogil=True)
def home(q, bits):
    """The first slot of key q in a table of 2**bits slots (Fibonacci hashing)."""
    return np.int64((np.uint64(q) * GOLDEN) >> np.uint64(64 - bits))


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
def next_key(buf, i, hi, unit):
    """(start, end, key) of the next token of the line at byte i in `unit` (0 words, 1 chars,
    2 bytes; a byte's key is its value), or (i', -1, 0) at the line's end."""
    if unit == 0:
        return next_word(buf, i, hi)
    a, b = next_token(buf, i, hi, unit)
    if b < 0:
        return a, b, np.int64(0)
    return a, b, np.int64(buf[a]) if unit == 2 else span_key(buf, a, b)


@njit(cache=True, nogil=True)
def vocab_probe(vrec, bits, key):
    """The id of a token's hash key in the vocabulary's slot records (key, id), or
    OOV_MARK: `HashedIds.find`'s walk over the same slots."""
    mask = (1 << bits) - 1
    slot = home(key, bits)
    while True:
        held = vrec[slot, 0]
        if held == key:
            return vrec[slot, 1]
        if held < 0:
            return OOV_MARK
        slot = (slot + 1) & mask


@njit(cache=True, nogil=True)
def key_id(key, vocab, markers):
    """The id of a token's key, SKIP_MARK for `<s>`/`</s>`, OOV_MARK for `<unk>` or unknown."""
    vrec, vbits = vocab
    if key == markers[0] or key == markers[1]:
        return SKIP_MARK
    if key == markers[2]:
        return OOV_MARK
    return vocab_probe(vrec, vbits, key)


@njit(cache=True, nogil=True)
def grown(ids):
    """ids twice as long, the first half copied."""
    return np.concatenate((ids, np.empty_like(ids)))


@njit(cache=True, nogil=True)
def stream_keys(buf, lo, hi, unit):
    """Pass 1 of `stream_ids`: per line LINE_START, each token's hash key (a byte's value for
    bytes), LINE_END."""
    keys = np.empty(max(16, (hi - lo) // 4), np.int64)
    n = 0
    i = lo
    while i < hi:
        if n + 2 > len(keys):  # room for the line's start and end
            keys = grown(keys)
        keys[n] = LINE_START
        n += 1
        while True:
            a, b, key = next_key(buf, i, hi, unit)
            if b < 0:
                i = a + 1  # past the newline
                break
            i = b
            if n + 2 > len(keys):
                keys = grown(keys)
            keys[n] = key
            n += 1
        keys[n] = LINE_END
        n += 1
    return keys[:n]


@njit(cache=True, nogil=True)
def stream_ids(buf, lo, hi, unit, vocab, byte_ids, markers):
    """The lines of buf[lo:hi] as `<s> w1 ... </s>` ids, OOV_MARK for an OOV (as
    `text_ids.encode` lays them out), and the longest line's length. Keys first, then their
    ids, each vocabulary probe prefetched AHEAD tokens before it (the misses overlap)."""
    keys = stream_keys(buf, lo, hi, unit)
    vrec, vbits = vocab
    n = longest = first = 0
    for i in range(len(keys)):
        key = keys[i]
        if i + AHEAD < len(keys) and keys[i + AHEAD] >= 0 and unit != 2:
            prefetch(vrec, home(keys[i + AHEAD], vbits))
        if key == LINE_START:
            w, first = NGRAM_BOS_ID, n
        elif key == LINE_END:
            w = NGRAM_EOS_ID
            longest = max(longest, n + 1 - first)
        else:
            w = byte_ids[key] if unit == 2 else key_id(key, vocab, markers)
        if w != SKIP_MARK:
            keys[n] = w  # ids overwrite keys already read
            n += 1
    return keys[:n], longest

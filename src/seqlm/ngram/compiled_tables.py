"""The compiled scorer's tables: each order's n-grams in linear-probing slot records.

Built once per model and kept on it (`NgramModel.compiled_tables`) for the kernels of
`seqlm.ngram.compiled_score`. Each order k >= 2 is a table of 2**bits records (key,
probability, backoff): 16 bytes with float32 values (precision "kenlm"), 24 with float64
nats, at most MAX_LOAD of the slots used, so that one probe reads one cache line for all
three (KenLM's probing tables keep key and values together too) and a failed probe stops
after ~2 slots. An n-gram's key there is its context's row in the order below (a word's id
for bigrams) * V + its word, with the EXTENDS bit where it is the context of a longer
n-gram (a context that is not need not be asked about: the probe would fail). Lookups find
exactly the n-grams of `seqlm.ngram.trie`'s keys. 40-120 bytes per n-gram: a mapped binary's
tables are copied. Leaves out: quantised records (a quantised model's values are decoded).
"""

import numpy as np
from numba import njit

from seqlm.errors import SeqlmError
from seqlm.ngram.compiled_text import home

EXTENDS = np.int64(1 << 62)  # a slot key's flag: this n-gram is the context of a longer one
KEY_BITS = np.int64((1 << 62) - 1)
MAX_LOAD = 0.4  # slots used at most: a failed probe reads ~2 slots (linear probing)


@njit(cache=True, nogil=True)
def probe(rec, at, bits, q):
    """The row of key q among the slot records rec[at:at + 2**bits] (column 0: the key with
    the EXTENDS bit, -1 where empty), or -1: linear probing from q's home slot."""
    mask = (1 << bits) - 1
    slot = home(q, bits)
    while True:
        key = rec[at + slot, 0]
        if key & KEY_BITS == q:
            return at + slot
        if key < 0:
            return -1
        slot = (slot + 1) & mask


@njit(cache=True, nogil=True)
def fill_order(rec, values, at, bits, keys, V, parent_row, extends, prob, back, row_of):
    """Lay order k's n-grams (keys (M,) = id(context) * V + word) into slot records: each
    keyed by its context's row (parent_row) * V + word, with the EXTENDS bit where it is the
    context of a longer n-gram, its probability and backoff; row_of[i]: n-gram i's row."""
    mask = (1 << bits) - 1
    for i in range(len(keys)):
        q = parent_row[keys[i] // V] * V + keys[i] % V
        slot = home(q, bits)
        while rec[at + slot, 0] >= 0:
            slot = (slot + 1) & mask
        rec[at + slot, 0] = q | EXTENDS if extends[i] else q
        values[at + slot, 0] = prob[i]
        if len(back):
            values[at + slot, 1] = back[i]
        row_of[i] = slot


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
    """Orders 2..N in linear-probing tables of records (key, probability, backoff): 16 bytes
    in float32, 24 in float64, so a probe reads one cache line for all three (KenLM's
    probing tables keep key and values together). An n-gram's key is its context's row in
    the order below (a word's id for bigrams) * V + its word, so the match state is a row.
    Returns the records (S, C) int64, each order's first row (N,), slot bits (N,), and the
    value columns (S, 2) viewed in the values' dtype."""
    dtype = probs[0].dtype
    bits = [0] + [max(4, int(np.ceil(np.log2(max(n, 1) / MAX_LOAD))))
                  for n in model.sizes()[1:]]
    if model.order > 1 and (1 << max(bits)) * model.V >= 1 << 62:
        raise SeqlmError(f"this model's tables are too large for the compiled scorer's keys "
                         f"({model.sizes()} n-grams, V = {model.V}): use --engine numpy")
    sizes = [0] + [1 << b for b in bits[1:]]
    rec = np.full((sum(sizes), 1 + 2 * dtype.itemsize // 8), -1, dtype=np.int64)
    rec[:, 1:] = 0
    values = rec.view(dtype)[:, 8 // dtype.itemsize:8 // dtype.itemsize + 2]
    slot_at = np.cumsum(sizes).astype(np.int64) - np.array(sizes, dtype=np.int64)
    parent_row = np.arange(model.V, dtype=np.int64)  # bigrams: the context is a word
    for k in range(2, model.order + 1):
        row_of = np.empty(model.sizes()[k - 1], dtype=np.int64)
        back = backs[k - 1] if k < model.order else np.zeros(0, dtype=dtype)
        fill_order(rec, values, slot_at[k - 1], bits[k - 1], np.asarray(model.keys[k - 1]),
                   model.V, parent_row, starts_longer(model, k), probs[k - 1], back, row_of)
        parent_row = row_of
    return rec, slot_at, np.array(bits, dtype=np.int64), values


def starts_longer(model, k: int) -> np.ndarray:
    """Whether each order-k n-gram is the context of some order-(k+1) n-gram. (M_k,) bool"""
    out = np.zeros(model.sizes()[k - 1], dtype=bool)
    if k < model.order:
        out[np.asarray(model.keys[k]) // model.V] = True
    return out

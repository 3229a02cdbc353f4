"""Counting and KenLM's adjusted counts on a corpus small enough to count by hand."""

import numpy as np
import pytest

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.counts import adjusted_counts, check_order
from seqlm.ngram.fit import count_text
from seqlm.ngram.reading import TrainingEncoder
from seqlm.ngram.spill import Workspace
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, NGRAM_UNK_ID
from seqlm.ngram.text_ids import encode


def table(counts, order, values):
    """{('w1', 'w2'): value} for the order-k n-grams."""
    words = [np.arange(counts.V)]
    for k in range(2, order + 1):
        words = [w[counts.parents(k)] for w in words] + [counts.words(k)]
    names = [tuple(counts.vocab.tokens[w[i]] for w in words) for i in range(len(values))]
    values = values if isinstance(values, np.ndarray) else values.array()
    return dict(zip(names, values.tolist(), strict=True))


def build_vocab(text, unit):
    encoder = TrainingEncoder(unit)
    encoder.encode(text)
    return encoder.vocab()


def adjusted(counts):
    return [a.array() for a in adjusted_counts(counts, Workspace(MemoryBudget()))]


def test_stream_layout_follows_kenlm_lines():
    vocab = build_vocab("a b\n\nb\n", "word")
    stream = encode("a b\n\nb\n", vocab, "word")
    a, b = vocab.index["a"], vocab.index["b"]
    bos, eos = NGRAM_BOS_ID, NGRAM_EOS_ID
    assert stream.ids.tolist() == [bos, a, b, eos, bos, eos, bos, b, eos]
    assert stream.starts.tolist() == [0, 4, 6]
    # a final newline ends the last line; its absence changes nothing
    assert encode("a b\n\nb", vocab, "word").ids.tolist() == stream.ids.tolist()


def test_oov_and_special_symbols():
    vocab = build_vocab("a <s> b </s>\n", "word")
    assert vocab.tokens == ["<unk>", "<s>", "</s>", "a", "b"]  # symbols read as whitespace
    stream = encode("a zz <unk>\n", vocab, "word")
    assert stream.ids.tolist() == [NGRAM_BOS_ID, 3, NGRAM_UNK_ID, NGRAM_UNK_ID, NGRAM_EOS_ID]
    assert stream.oov.tolist() == [False, False, True, True, False]


def test_words_split_on_ascii_space_tab_cr_only():
    vocab = build_vocab("a\tb\rc d\u00a0e\n", "word")
    assert vocab.tokens[3:] == ["a", "b", "c", "d\u00a0e"]


def test_raw_and_adjusted_counts_by_hand():
    counts = count_text("a b\na\n", NgramConfig(order=2))
    assert table(counts, 1, counts.counts[0]) == {
        ("<unk>",): 0, ("<s>",): 2, ("</s>",): 2, ("a",): 2, ("b",): 1}
    assert table(counts, 2, counts.counts[1]) == {
        ("<s>", "a"): 2, ("a", "b"): 1, ("a", "</s>"): 1, ("b", "</s>"): 1}
    adj = adjusted(counts)
    # a: only <s> to its left; </s>: a and b; <s> and <unk>: 0 by KenLM's rule
    assert table(counts, 1, adj[0]) == {
        ("<unk>",): 0, ("<s>",): 0, ("</s>",): 2, ("a",): 1, ("b",): 1}
    assert np.array_equal(adj[1], counts.counts[1].array())  # the highest order keeps raw counts


def test_lower_orders_starting_with_bos_keep_raw_counts():
    counts = count_text("x y z\nx y z\nw y z\n", NgramConfig(order=3))
    adj = adjusted(counts)
    got = table(counts, 2, adj[1])
    assert got[("<s>", "x")] == 2  # raw count: nothing stands left of <s>
    assert got[("y", "z")] == 2  # x and w stand to the left of "y z"
    assert table(counts, 2, counts.counts[1])[("y", "z")] == 3


def test_ngrams_never_cross_lines():
    counts = count_text("a\nb\n", NgramConfig(order=3))
    assert ("a", "</s>", "<s>") not in table(counts, 3, counts.counts[2])
    assert set(table(counts, 3, counts.counts[2])) == {("<s>", "a", "</s>"), ("<s>", "b", "</s>")}
    assert set(table(counts, 2, counts.counts[1])) == {
        ("<s>", "a"), ("a", "</s>"), ("<s>", "b"), ("b", "</s>")}


@pytest.mark.parametrize("order", [0, 17, -1, 2.5, True])
def test_bad_orders_name_the_value_and_range(order):
    with pytest.raises(SeqlmError, match=r"order .* out of range: choose an order from 1 to 16"):
        check_order(order)


def test_unique_inverse_is_numpys_unique():
    """The sort of keys packed with positions gives `np.unique`'s arrays, dtypes included;
    keys too wide to pack with their positions go to `np.unique` itself."""
    from seqlm.ngram.counts import unique_inverse

    rng = np.random.default_rng(0)
    for keys in (rng.integers(0, 50, 1000), rng.integers(0, 2**40, 100_000), np.array([7]),
                 np.zeros(0, dtype=np.int64), rng.integers(0, 2**62, 1000),
                 np.full(10, 2**62 - 1)):
        ours = unique_inverse(keys.astype(np.int64))
        theirs = np.unique(keys.astype(np.int64), return_inverse=True, return_counts=True)
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)

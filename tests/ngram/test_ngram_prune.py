"""Count pruning with lmplz's semantics, on a corpus small enough to work out by hand.

    <s> a b </s>   <s> a b </s>   <s> a c </s>        interpolated Kneser-Ney (kn), order 2

Unigram adjusted counts (distinct left words): a 1, b 1, c 1, </s> 2 (t1 = 3, t2 = 1, so
D1 = 3/5); bigram raw counts: <s> a 3, a b 2, b </s> 2, a c 1, c </s> 1 (t1 = 2, t2 = 2, so
D2 = 1/3). Unigrams: p(w) = (a(w) - 3/5) / 5 + (3/5 * 4 / 5) / 5, i.e. p(a) = p(b) = p(c) =
0.176, p(</s>) = 0.376, p(<unk>) = 0.096. `--prune 0 1` drops the bigrams seen once (a c,
c </s>); their adjusted counts go whole into their context's gamma (lmplz
initial_probabilities.cc), so gamma(a) = (D2 + 1) / 3 = 4/9 and p(c | a) = 4/9 p(c), and
gamma(c) = 1 / 1: "c" backs off to p(</s>) untouched.
"""

import math
import warnings

import numpy as np
import pytest

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import fit
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.prune import Pruning

TEXT = "a b\na b\na c\n"
P1 = {"a": 0.176, "b": 0.176, "c": 0.176, "</s>": 0.376, "<unk>": 0.096}


def model(prune=(), order=2, text=TEXT, smoothing="kn"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        return fit(text, NgramConfig(order=order, smoothing=smoothing, prune=tuple(prune)))


def p(m, word, *context):
    return math.exp(m.logprob(word, list(context)))


def test_unpruned_reference_by_hand():
    m = model()
    assert m.sizes() == [6, 5]
    for w, pw in P1.items():
        assert p(m, w) == pytest.approx(pw)
    assert p(m, "c", "a") == pytest.approx((1 - 1 / 3) / 3 + (2 / 9) * P1["c"])
    assert p(m, "b", "a") == pytest.approx((2 - 1 / 3) / 3 + (2 / 9) * P1["b"])


def test_prune_drops_singletons_and_keeps_their_mass_in_gamma():
    m = model(prune=(0, 1))
    assert m.sizes() == [6, 3]  # <s> a, a b, b </s>
    assert p(m, "b", "a") == pytest.approx((2 - 1 / 3) / 3 + (4 / 9) * P1["b"])
    assert p(m, "c", "a") == pytest.approx((4 / 9) * P1["c"])  # backs off through gamma(a)
    assert p(m, "a", "<s>") == pytest.approx((3 - 1 / 3) / 3 + (1 / 9) * P1["a"])
    assert p(m, "</s>", "b") == pytest.approx((2 - 1 / 3) / 2 + (1 / 6) * P1["</s>"])
    assert p(m, "</s>", "c") == pytest.approx(P1["</s>"])  # every extension of c was pruned
    for context in (["a"], ["<s>"], ["b"], ["c"]):
        assert m.distribution(context).sum() == pytest.approx(1.0)


def test_pruning_leaves_adjusted_counts_and_discounts_alone():
    text = "a b c\na b c\nd b c\nd b e\n"
    full, pruned = model(order=3, text=text, smoothing="mkn"), model(
        prune=(0, 1, 1), order=3, text=text, smoothing="mkn")
    assert pruned.info["discounts"] == full.info["discounts"]
    names = {tuple(pruned.vocab.tokens[w] for w in ids) for ids in trigram_words(pruned)}
    assert names == {("<s>", "a", "b"), ("a", "b", "c"), ("b", "c", "</s>"), ("<s>", "d", "b")}
    assert pruned.sizes() == [8, 6, 4]  # bigrams b e and e </s> were seen once
    for context in (["<s>", "a"], ["a", "b"], ["d", "b"], ["b"]):
        assert pruned.distribution(context).sum() == pytest.approx(1.0)


def trigram_words(m) -> list[tuple[int, int, int]]:
    keys2, keys3, V = m.keys[1], m.keys[2], m.V
    parents = keys2[keys3 // V]
    return list(zip((parents // V).tolist(), (parents % V).tolist(), (keys3 % V).tolist(),
                    strict=True))


@pytest.mark.parametrize("given,match", [
    ((1, 1), "unigrams cannot be pruned"),
    ((0, 2, 1), "decreases"),
    ((0, 1, 1, 1), "gives 4 thresholds for a model of order 3"),
    ((0, -1), "counts, not -1"),
])
def test_bad_thresholds_are_named(given, match):
    with pytest.raises(SeqlmError, match=match):
        Pruning.of(given, 3)


def test_the_last_threshold_repeats_and_pruning_needs_kneser_ney():
    assert Pruning.of((0, 1), 4).thresholds == (0, 1, 1, 1)
    assert Pruning.of((), 3) is None
    with pytest.raises(SeqlmError, match=r"prune = \(0, 1\) works with Kneser-Ney"):
        NgramConfig(order=2, smoothing="addk", prune=(0, 1))  # the config refuses it
    assert np.array_equal(model(prune=(0, 0)).keys[1], model().keys[1])  # all zeros: no-op

"""Stolcke pruning on a bigram model computed by hand, and on a trained trigram (closure, KenLM)."""

import math
import random
import warnings

import numpy as np
import pytest

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import read_arpa
from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.entropy_prune import prune_entropy, relative_entropies
from seqlm.ngram.fit import fit
from seqlm.ngram.static_mix import rows_of

# p(w):  <unk> .1  </s> .3  a .4  b .2  (<s> never predicted)
# p(w|<s>): a .6, b .2   -> num .2, den 1 - (.4 + .2) = .4, alpha .5
# p(w|a):   b .5, </s> .3 -> num .2, den 1 - (.2 + .3) = .5, alpha .4
# p(w|b):   a .7          -> num .3, den 1 - .4 = .6,        alpha .5
UNIGRAMS = {"<unk>": (0.1, 1.0), "<s>": (None, 0.5), "</s>": (0.3, 1.0), "a": (0.4, 0.4),
            "b": (0.2, 0.5)}
BIGRAMS = {("<s>", "a"): 0.6, ("<s>", "b"): 0.2, ("a", "b"): 0.5, ("a", "</s>"): 0.3,
           ("b", "a"): 0.7}
# D = -P(h) [p (ln p(w|h') + ln a'(h) - ln p) + (ln a'(h) - ln a(h)) num], a' = (num+p)/(den+p')
HAND_D = {("<s>", "a"): -(0.6 * math.log(0.4 / 0.6) + -math.log(0.5) * 0.2),  # a' = .8/.8
          ("<s>", "b"): -(0.2 * math.log(0.4 / 0.6) + math.log(0.4 / 0.6 / 0.5) * 0.2),
          ("a", "b"): -0.4 * (0.5 * math.log(0.2 / 0.5) - math.log(0.4) * 0.2),  # a' = 1
          ("a", "</s>"): -0.4 * (0.3 * math.log(0.625) + math.log(0.625 / 0.4) * 0.2),
          ("b", "a"): -0.2 * (0.7 * math.log(0.4 / 0.7) - math.log(0.5) * 0.3)}  # a' = 1


def log10(p: float | None) -> str:
    return "-99" if p is None else f"{math.log10(p):.12f}"


@pytest.fixture
def hand_model(tmp_path):
    lines = ["\\data\\", "ngram 1=5", "ngram 2=5", "", "\\1-grams:"]
    lines += [f"{log10(p)}\t{w}\t{log10(bo)}" for w, (p, bo) in UNIGRAMS.items()]
    lines += ["", "\\2-grams:"] + [f"{log10(p)}\t{h} {w}" for (h, w), p in BIGRAMS.items()]
    (tmp_path / "hand.arpa").write_text("\n".join([*lines, "", "\\end\\", ""]))
    return read_arpa(tmp_path / "hand.arpa")


def bigrams(model) -> list[tuple[str, str]]:
    return [(model.vocab.token(int(h)), model.vocab.token(int(w)))
            for h, w in rows_of(model.keys, 2, model.V)]


def test_relative_entropies_equal_the_hand_computation(hand_model):
    D = dict(zip(bigrams(hand_model), relative_entropies(hand_model)[0].tolist(), strict=True))
    assert D.keys() == HAND_D.keys()
    for g, d in HAND_D.items():
        assert D[g] == pytest.approx(d, abs=1e-9), g
    assert HAND_D[("a", "</s>")] == pytest.approx(0.020698, abs=1e-6)  # the smallest


def test_pruning_keeps_the_expected_bigrams_and_recomputes_backoffs(tmp_path, hand_model):
    # exp(D) - 1: <s> a .110, <s> b .0238, a b .116, a </s> .0209, b a .0374
    pruned = prune_entropy(hand_model, threshold=0.03)
    assert set(bigrams(pruned)) == {("<s>", "a"), ("a", "b"), ("b", "a")}
    bo = dict(zip(pruned.vocab.tokens, np.exp(pruned.backoff[0]).tolist(), strict=True))
    assert bo["<s>"] == pytest.approx(0.4 / 0.6)  # (1 - .6) / (1 - .4)
    assert bo["a"] == pytest.approx(0.5 / 0.8)  # (1 - .5) / (1 - .2)
    assert bo["b"] == pytest.approx(0.5)
    assert pruned.logprob("b", ["<s>"]) == pytest.approx(math.log(0.4 / 0.6 * 0.2))
    for context in (["<s>"], ["a"], ["b"]):
        assert pruned.distribution(context).sum() == pytest.approx(1.0)
    to_seven = prune_entropy(hand_model, target_ngrams=7)  # 5 unigrams + the two largest D
    assert set(bigrams(to_seven)) == {("<s>", "a"), ("a", "b")}
    assert bigrams(prune_entropy(hand_model, target_ngrams=8)) == bigrams(pruned)
    assert set(bigrams(prune_entropy(hand_model, threshold=0.0))) == set(BIGRAMS)


def test_a_pruned_trigram_is_closed_and_kenlm_reads_it(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    rng = random.Random(0)
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log"]
    text = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(2, 9))) + "\n"
                   for _ in range(400))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(text, NgramConfig(order=3, unit="word"))
    full = sum(model.sizes())
    pruned = prune_entropy(model, target_ngrams=full // 2)
    assert sum(pruned.sizes()) <= full // 2 and pruned.sizes()[2] < model.sizes()[2]
    tri = {tuple(r) for r in rows_of(pruned.keys, 3, pruned.V).tolist()}
    bi = {tuple(r) for r in rows_of(pruned.keys, 2, pruned.V).tolist()}
    assert all(t[:2] in bi and t[1:] in bi for t in tri)  # prefixes and suffixes kept
    path = write_arpa(pruned, tmp_path / "pruned.arpa")
    k = kenlm.Model(str(path))
    for line in text.splitlines()[:20]:
        assert k.score(line) == pytest.approx(pruned.score_log10(line), abs=1e-4)
    assert pruned.perplexity(text).perplexity > model.perplexity(text).perplexity


def test_min_order_keeps_the_lower_orders_whole():
    rng = random.Random(1)
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log"]
    text = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(2, 9))) + "\n"
                   for _ in range(400))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(text, NgramConfig(order=3, unit="word"))
    target = model.sizes()[0] + model.sizes()[1] + model.sizes()[2] // 3
    kept = prune_entropy(model, target_ngrams=target, min_order=3)
    assert kept.sizes()[:2] == model.sizes()[:2] and sum(kept.sizes()) <= target
    assert 0 < kept.sizes()[2] <= model.sizes()[2] // 3
    assert prune_entropy(model, threshold=1.0).sizes()[1] == 0  # without it, bigrams go too
    floor = prune_entropy(model, target_ngrams=1, min_order=3)  # as small as it can get
    assert floor.sizes() == [*model.sizes()[:2], 0]
    assert prune_entropy(model, threshold=1.0, min_order=3).sizes() == floor.sizes()


def test_bad_thresholds_are_one_line_errors(hand_model):
    with pytest.raises(SeqlmError, match="must be >= 0"):
        prune_entropy(hand_model, threshold=-1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        addk = fit("a b\n", NgramConfig(order=2, unit="word", smoothing="addk"))
    with pytest.raises(SeqlmError, match="needs a backoff model"):
        prune_entropy(addk, threshold=1e-7)
    with pytest.raises(SeqlmError, match="--min-order 3 for a model of order 2"):
        prune_entropy(hand_model, threshold=1e-7, min_order=3)

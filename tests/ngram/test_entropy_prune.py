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


# raw training counts for the hand model's bigrams: the two counted once are cut first
HAND_COUNTS = {("<s>", "a"): 3, ("<s>", "b"): 2, ("a", "b"): 2, ("a", "</s>"): 1, ("b", "a"): 1}


def test_count_cutoffs_go_first_then_the_lowest_d(hand_model):
    counts = [np.array([HAND_COUNTS[g] for g in bigrams(hand_model)])]
    # θ = 0 prunes nothing by entropy; --prune 0 1 removes a </s> and b a (counted once)
    cut = prune_entropy(hand_model, threshold=0.0, cutoffs=(0, 1), counts=counts)
    assert set(bigrams(cut)) == {("<s>", "a"), ("<s>", "b"), ("a", "b")}
    bo = dict(zip(cut.vocab.tokens, np.exp(cut.backoff[0]).tolist(), strict=True))
    assert bo["<s>"] == pytest.approx(0.5)  # both its bigrams kept: unchanged
    assert bo["a"] == pytest.approx(0.5 / 0.8)  # (1 - .5) / (1 - p(b) = .2)
    assert bo["b"] == pytest.approx(1.0)  # no bigram left: backoff 1
    assert cut.logprob("</s>", ["a"]) == pytest.approx(math.log(0.625 * 0.3))
    # to 7 n-grams: after the cut, the lowest D of the rest (<s> b, .0238) goes as well;
    # without the cut-offs the two largest D (<s> a, a b) would stay all the same
    seven = prune_entropy(hand_model, target_ngrams=7, cutoffs=(0, 1), counts=counts)
    assert set(bigrams(seven)) == {("<s>", "a"), ("a", "b")}
    eight = prune_entropy(hand_model, target_ngrams=8, cutoffs=(0, 1), counts=counts)
    assert set(bigrams(eight)) == set(bigrams(cut))  # 8 = 5 + 3: the cut alone
    assert set(bigrams(prune_entropy(hand_model, target_ngrams=8))) != set(bigrams(cut))
    assert bigrams(prune_entropy(hand_model, target_ngrams=10)) == bigrams(hand_model)
    with pytest.raises(SeqlmError, match="raw training count"):
        prune_entropy(hand_model, threshold=0.0, cutoffs=(0, 1))
    with pytest.raises(SeqlmError, match="unigrams cannot be pruned"):
        prune_entropy(hand_model, threshold=0.0, cutoffs=(1, 1), counts=counts)


def random_text(seed: int, lines: int = 400) -> str:
    rng = random.Random(seed)
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log"]
    return "".join(" ".join(rng.choice(words) for _ in range(rng.randint(2, 9))) + "\n"
                   for _ in range(lines))


def test_training_counts_equal_brute_force_and_need_the_training_text():
    from seqlm.ngram.training_counts import training_counts

    text = random_text(2, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(text, NgramConfig(order=3, unit="word"))
    brute: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        toks = ["<s>", *line.split(), "</s>"]
        for k in (2, 3):
            for i in range(len(toks) - k + 1):
                brute[tuple(toks[i:i + k])] = brute.get(tuple(toks[i:i + k]), 0) + 1
    counts = training_counts(model, text)
    for k in (2, 3):
        rows = rows_of(model.keys, k, model.V)
        got = {tuple(model.vocab.token(int(i)) for i in r): int(c)
               for r, c in zip(rows, counts[k - 2], strict=True)}
        assert got == {g: c for g, c in brute.items() if len(g) == k}
    with pytest.raises(SeqlmError, match="never occur in the text given"):
        training_counts(model, "the cat sat\n")


def test_cutoffs_then_entropy_give_a_closed_model_kenlm_reads(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    from seqlm.ngram.training_counts import training_counts

    text = random_text(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(text, NgramConfig(order=3, unit="word"))
    counts = training_counts(model, text)
    cut_only = prune_entropy(model, cutoffs=(0, 0, 1), counts=counts)
    assert cut_only.sizes() == [*model.sizes()[:2], int((counts[1] > 1).sum())]
    target = sum(cut_only.sizes()) - 40
    pruned = prune_entropy(model, target_ngrams=target, cutoffs=(0, 0, 1), counts=counts)
    assert sum(pruned.sizes()) <= target
    tri = {tuple(r) for r in rows_of(pruned.keys, 3, pruned.V).tolist()}
    assert tri <= {tuple(r) for r in rows_of(cut_only.keys, 3, cut_only.V).tolist()}
    bi = {tuple(r) for r in rows_of(pruned.keys, 2, pruned.V).tolist()}
    assert all(t[:2] in bi and t[1:] in bi for t in tri)
    k = kenlm.Model(str(write_arpa(pruned, tmp_path / "cut.arpa")))
    for line in text.splitlines()[:20]:
        assert k.score(line) == pytest.approx(pruned.score_log10(line), abs=1e-4)

"""Mixing: EM weights, the dynamic mixture, the static ARPA mixture (loaded by kenlm), errors."""

import random
import warnings

import numpy as np
import pytest

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.fit import fit
from seqlm.ngram.mixture import NgramScorer, check_weights, fit_weights, mix, stacked_logprobs
from seqlm.ngram.model import chain_runs
from seqlm.ngram.static_mix import static_mix
from seqlm.ngram.text_ids import encode

WORDS = ["a", "b", "c", "d", "e", "f"]


def text(rng: random.Random, words: list[str], lines: int) -> str:
    body = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) + "\n"
                   for _ in range(lines))
    return body + " ".join(WORDS) + "\n"  # every word once: one vocabulary


@pytest.fixture(scope="module")
def models():
    rng = random.Random(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny data: discount fallbacks
        m1 = fit(text(rng, WORDS[:4], 300), NgramConfig(order=3, unit="word"))
        m2 = fit(text(rng, WORDS[2:], 300), NgramConfig(order=2, unit="word", smoothing="kn"))
    return m1, m2


def test_em_raises_dev_likelihood_every_step_and_weights_sum_to_one():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=500).T * rng.uniform(0.1, 1.0, size=(1, 500))
    weights, nats = fit_weights(np.log(p), iterations=50, tolerance=0.0)
    assert len(nats) == 51 and np.all(np.diff(nats) <= 1e-12)  # never worse
    assert nats[-1] < nats[0] and weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_em_on_two_models_and_the_mixture_score(models):
    rng = random.Random(1)
    dev, test = text(rng, WORDS, 60), text(rng, WORDS, 60)
    report = mix([NgramScorer(models[0], "m1"), NgramScorer(models[1], "m2")], dev, test)
    assert np.all(np.diff(report.dev_nats) <= 1e-12)
    assert report.weights.sum() == pytest.approx(1.0)
    lp = stacked_logprobs([NgramScorer(m) for m in models], test)
    expected = -np.log(np.exp(lp).T @ report.weights).sum()
    assert report.mixture.nll_nats == pytest.approx(expected)
    assert report.components[0].nll_nats == pytest.approx(-lp[0].sum())


def full_context_orders(model, sentences: str) -> tuple[np.ndarray, np.ndarray]:
    """The scored positions of a text and the order an n-gram there would have with its whole
    usable context (N at most)."""
    stream = encode(sentences, model.vocab, model.unit)
    pos = stream.scored()
    return pos, np.minimum(model.order, chain_runs(stream.ids, stream.oov)[pos - 1] + 1)


def test_static_mix_equals_dynamic_where_listed_and_loads_in_kenlm(tmp_path, models):
    kenlm = pytest.importorskip("kenlm")
    w = np.array([0.35, 0.65])
    static = static_mix(list(models), w)
    rng = random.Random(2)
    test = text(rng, WORDS, 40)
    dynamic = np.log(np.exp(stacked_logprobs([NgramScorer(m) for m in models], test)).T @ w)
    stream = encode(test, static.vocab, "word")
    nats, matched = static.score_positions(stream.ids, stream.oov, stream.scored())
    _, full = full_context_orders(static, test)
    listed = matched == full
    assert listed.sum() > 20 and (~listed).sum() > 0
    np.testing.assert_allclose(nats[listed], dynamic[listed], rtol=0, atol=1e-12)
    for context in ([], ["<s>"], ["a", "b"], ["<s>", "e"], ["f", "a"]):
        assert static.distribution(context).sum() == pytest.approx(1.0, abs=1e-9)
    path = write_arpa(static, tmp_path / "mix.arpa")
    k = kenlm.Model(str(path))
    for line in test.splitlines()[:10]:
        ours = static.score_log10(line)
        assert k.score(line) == pytest.approx(ours, abs=1e-4 * max(1.0, abs(ours)))


def test_bad_mixtures_are_one_line_errors(models):
    with pytest.raises(SeqlmError, match="sum to 1.2"):
        check_weights([0.5, 0.7], 2)
    with pytest.raises(SeqlmError, match="3 weights for 2 models"):
        check_weights([0.5, 0.25, 0.25], 2)
    with pytest.raises(SeqlmError, match="sum to 1.2"):
        static_mix(list(models), [0.5, 0.7])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = fit("x y z\nx y\n", NgramConfig(order=2, unit="word"))
        chars = fit("abc\nabd\n", NgramConfig(order=2, unit="char"))
    with pytest.raises(SeqlmError, match="another vocabulary"):
        mix([NgramScorer(models[0]), NgramScorer(other)], "a b\n", "a b\n")
    with pytest.raises(SeqlmError, match="another vocabulary"):
        static_mix([models[0], other], [0.5, 0.5])
    with pytest.raises(SeqlmError, match="mix models of one unit"):
        mix([NgramScorer(models[0]), NgramScorer(chars)], "a b\n", "a b\n")


def test_bucketed_weights_with_an_infinigram(tmp_path, models):
    pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")
    from seqlm.ngram.infinigram import InfiniGram
    from seqlm.ngram.mixture import InfiniGramScorer
    from seqlm.ngram.suffix_index import build_index

    rng = random.Random(5)
    build_index([text(rng, WORDS[:4], 300)], "word", tmp_path / "w.idx")
    g = InfiniGramScorer(InfiniGram(tmp_path / "w.idx"))
    dev, test = text(rng, WORDS, 200), text(rng, WORDS, 100)
    report = mix([NgramScorer(models[0]), g], dev, test)
    assert report.bucket_weights and all(w.sum() == pytest.approx(1.0)
                                         for w in report.bucket_weights.values())
    assert report.dev_nats_bucketed <= report.dev_nats[-1] + 1e-6  # each bucket's own optimum
    assert report.bucket_dev_nats.keys() == report.bucket_weights.keys()
    for nats in report.bucket_dev_nats.values():  # EM in every bucket: never worse
        assert len(nats) >= 2 and np.all(np.diff(nats) <= 1e-12)
    flat = mix([NgramScorer(models[0]), g], dev, test, by_context=False)
    assert not flat.bucket_weights and flat.weights == pytest.approx(report.weights)
    buckets = g.context_buckets(test)
    assert len(buckets) == report.mixture.tokens and buckets.min() >= 0


def test_denser_infinigram_levels_join_the_mixture(tmp_path, models):
    pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")
    from seqlm.lab.mix import with_dense_levels
    from seqlm.ngram.infinigram import InfiniGram
    from seqlm.ngram.mixture import InfiniGramScorer, bucketer
    from seqlm.ngram.suffix_index import build_index

    rng = random.Random(6)
    build_index([text(rng, WORDS[:4], 300)], "word", tmp_path / "w.idx")
    g = InfiniGramScorer(InfiniGram(tmp_path / "w.idx"), "g")
    scorers = with_dense_levels([NgramScorer(models[0], "m1"), g], (4, 32))
    assert [s.name for s in scorers] == ["m1", "g", "g ≥4", "g ≥32"]
    assert bucketer(scorers) is g  # buckets from the ∞-gram's own longest suffix
    dev, test = text(rng, WORDS, 200), text(rng, WORDS, 100)
    report = mix(scorers, dev, test)
    assert len(report.weights) == 4 and report.weights.sum() == pytest.approx(1.0)
    assert all(w.sum() == pytest.approx(1.0) and (w >= 0).all()
               for w in report.bucket_weights.values())
    dense = scorers[3].scored(test)
    assert (dense.totals >= 32).all()  # every estimate rests on 32 continuations or more
    assert (dense.lengths <= g.scored(test).lengths).all()
    assert with_dense_levels([g], ()) == [g]
    with pytest.raises(SeqlmError, match="no model is one: add an index:PATH"):
        with_dense_levels([NgramScorer(models[0]), NgramScorer(models[1])], (4,))

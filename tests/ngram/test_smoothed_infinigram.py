"""The smoothed ∞-gram: kernels against brute-force counting and the NumPy path, sums to one,
one level per distinct count, fitting on dev, mixing, bad parameters."""

import random
import warnings

import numpy as np
import pytest

from seqlm.errors import SeqlmError

pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")

from seqlm.ngram import index_tokens  # noqa: E402
from seqlm.ngram.infinigram import InfiniGram  # noqa: E402
from seqlm.ngram.mixture import NgramScorer, mix  # noqa: E402
from seqlm.ngram.smoothed_infinigram import (  # noqa: E402
    COUNT_BUCKETS,
    SmoothedInfiniGram,
    SmoothedInfiniGramScorer,
)
from seqlm.ngram.suffix_index import build_index  # noqa: E402


def random_params(rng: np.random.Generator) -> np.ndarray:
    """(2, COUNT_BUCKETS, 4): the continuation levels' table, then the raw levels'."""
    return np.stack([np.column_stack([rng.uniform(0, c, COUNT_BUCKETS) for c in (1, 2, 3, 4)])
                     for _ in range(2)])


def brute_prob(doc_ids: list[np.ndarray], ctx: np.ndarray, w: int, params: np.ndarray,
               n_ids: int) -> float:
    """The module's formula from counts found by scanning every document (no suffix array)."""
    p, last = 1.0 / (n_ids - 1), None
    for L in range(len(ctx) + 1):
        counts = np.zeros(n_ids, dtype=np.int64)
        for ids in doc_ids:
            for i in range(L, len(ids)):
                if L == 0 or np.array_equal(ids[i - L:i], ctx[len(ctx) - L:]):
                    counts[ids[i]] += 1
        total = int(counts.sum())
        if total == 0:
            break
        if total == last:  # the same occurrences as the shorter level: counted once
            continue
        last = total
        d1, d2, d3, theta = params[1, min(total.bit_length() - 1, COUNT_BUCKETS - 1)]
        c = counts[w]
        d = 0.0 if c == 0 else (d1, d2, d3)[min(c, 3) - 1]
        escape = theta + d1 * (counts == 1).sum() + d2 * (counts == 2).sum() \
            + d3 * (counts >= 3).sum()
        p = (max(c - d, 0.0) + escape * p) / (theta + total)
    return p


@pytest.mark.parametrize("unit,alphabet", [("byte", "abc\u00e9\n"), ("word", "abcd")])
def test_kernels_equal_brute_force_and_the_numpy_distribution(tmp_path, unit, alphabet):
    rng, nrng = random.Random(7), np.random.default_rng(7)
    sep = " " if unit == "word" else ""
    docs = [sep.join(rng.choice(alphabet) for _ in range(rng.randint(5, 60))) + "\n"
            for _ in range(4)]
    build_index(docs, unit, tmp_path / "s.idx")
    g = InfiniGram(tmp_path / "s.idx")
    doc_ids = [index_tokens.encode(d, unit, g.vocab) for d in docs]
    model = SmoothedInfiniGram(g, random_params(nrng), counts="raw")
    text = docs[0][:20] + sep.join(rng.choice(alphabet) for _ in range(25))
    ids = g.encode(text, line_end=True)
    probs = model.token_probs(ids)
    n_ids = g.index.info.n_ids
    for t in range(len(ids)):
        want = brute_prob(doc_ids, ids[:t], int(ids[t]), model.params, n_ids)
        assert probs[t] == pytest.approx(want, rel=1e-12), t
        dist = model.distribution(ids[:t])
        assert dist.sum() == pytest.approx(1.0, abs=1e-12) and dist[g.sep] == 0.0
        assert dist[ids[t]] == pytest.approx(probs[t], rel=1e-12)


def test_a_long_unique_match_is_one_level(tmp_path):
    build_index(["the quick brown fox jumps over the lazy dog\n", "a b c\n"], "byte",
                tmp_path / "u.idx")
    g = InfiniGram(tmp_path / "u.idx")
    levels = SmoothedInfiniGram(g).levels(g.encode("the quick brown fox jumps"))
    last = levels.rows[:, levels.offsets[-2]:levels.offsets[-1]]  # before the final "s"
    assert last[2].tolist() == sorted(set(last[2].tolist()), reverse=True)  # c⁺ all differ
    assert last[2, -1] == 1 and last.shape[1] <= 4  # 23 bytes matched: few levels, not 23
    assert last[0, -1] < 23  # the level starts at the shortest length with that one occurrence


@pytest.mark.parametrize("counts", ["continuation", "raw"])
def test_fit_lowers_dev_nats_and_the_mixture_tunes_it_first(tmp_path, counts):
    rng = random.Random(3)
    words = ["def", "self", "return", "(", ")", ":", "x", "y", "if", "else"]
    docs = [" ".join(rng.choice(words) for _ in range(200)) + "\n" for _ in range(6)]
    build_index(docs[:4], "byte", tmp_path / "f.idx")
    model = SmoothedInfiniGram(InfiniGram(tmp_path / "f.idx"), counts=counts)
    dev_ids = model.model.encode(docs[4], line_end=True)
    before = float(-np.log(model.token_probs(dev_ids)).mean())
    after = model.fit(dev_ids)
    assert after < before and after == pytest.approx(-np.log(model.token_probs(dev_ids)).mean())
    assert (model.params[..., :3] <= [1, 2, 3]).all() and (model.params >= 0).all()

    from seqlm.config import NgramConfig
    from seqlm.ngram.fit import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small data: modified KN's fallback discounts
        ngram = NgramScorer(fit("".join(docs[:4]), NgramConfig(order=3, unit="byte")))
    scorer = SmoothedInfiniGramScorer(SmoothedInfiniGram(InfiniGram(tmp_path / "f.idx"),
                                                         counts=counts))
    report = mix([ngram, scorer], docs[4], docs[5])
    assert scorer.dev_nats == pytest.approx(after)  # tuned on dev before EM
    assert report.weights.sum() == pytest.approx(1.0) and report.components[1].zero_tokens == 0
    assert np.isfinite(report.mixture.nats)


def test_bad_parameters_and_ids_are_one_line_errors(tmp_path):
    build_index(["abc\n"], "byte", tmp_path / "b.idx")
    g = InfiniGram(tmp_path / "b.idx")
    bad = np.tile([1.5, 1.0, 1.0, 0.0], (2, COUNT_BUCKETS, 1))  # D1 > 1
    with pytest.raises(SeqlmError, match="0 <= D_c <= c"):
        SmoothedInfiniGram(g, bad)
    with pytest.raises(SeqlmError, match="0 <= D_c <= c"):
        SmoothedInfiniGram(g, np.zeros((COUNT_BUCKETS, 4)))  # one table, not two
    with pytest.raises(SeqlmError, match="unknown counts 'kn'"):
        SmoothedInfiniGram(g, counts="kn")
    with pytest.raises(SeqlmError, match="outside the index's vocabulary"):
        SmoothedInfiniGram(g).token_probs(np.array([97, 255]))

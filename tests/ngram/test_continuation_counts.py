"""Continuation counts of the smoothed ∞-gram's levels: the kernel against counting distinct
left contexts in the documents, the distribution summing to one, fitting on dev."""

import random

import numpy as np
import pytest

pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")

from seqlm.ngram import index_tokens  # noqa: E402
from seqlm.ngram.continuation_counts import continuation_rows  # noqa: E402
from seqlm.ngram.infinigram import InfiniGram  # noqa: E402
from seqlm.ngram.smoothed_infinigram import COUNT_BUCKETS, SmoothedInfiniGram  # noqa: E402
from seqlm.ngram.suffix_index import build_index  # noqa: E402


def brute_continuation(doc_ids: list[np.ndarray], ctx: np.ndarray, L: int, shift: int,
                       sep: int, n_ids: int) -> np.ndarray:
    """k(w) for every w (V,): distinct tokens `shift` before the occurrences of ctx's suffix of
    length L that w follows, a document start counting as the separator."""
    lefts = [set() for _ in range(n_ids)]
    for ids in doc_ids:
        for i in range(L, len(ids)):
            if L == 0 or np.array_equal(ids[i - L:i], ctx[len(ctx) - L:]):
                at = i - L - shift
                lefts[ids[i]].add(int(ids[at]) if at >= 0 else sep)
    return np.array([len(s) for s in lefts])


def random_tables(rng: np.random.Generator) -> np.ndarray:
    """Parameters (2, COUNT_BUCKETS, 4): D1, D2, D3 within 0..c, θ within 0..4."""
    return np.stack([np.column_stack([rng.uniform(0, c, COUNT_BUCKETS) for c in (1, 2, 3, 4)])
                     for _ in range(2)])


def small_index(tmp_path, unit: str, alphabet: str, seed: int):
    rng = random.Random(seed)
    space = " " if unit == "word" else ""
    docs = [space.join(rng.choice(alphabet) for _ in range(rng.randint(5, 60))) + "\n"
            for _ in range(4)]
    build_index(docs, unit, tmp_path / "c.idx")
    g = InfiniGram(tmp_path / "c.idx")
    doc_ids = [index_tokens.encode(d, unit, g.vocab) for d in docs]
    text = docs[0][:20] + space.join(rng.choice(alphabet) for _ in range(25))
    return g, doc_ids, g.encode(text, line_end=True)


@pytest.mark.parametrize("cap", [0, 1_000_000])  # every range kept in the table / scanned
@pytest.mark.parametrize("unit,alphabet", [("byte", "abc\u00e9\n"), ("word", "abcd")])
def test_continuation_counts_equal_counting_left_contexts(tmp_path, unit, alphabet, cap):
    g, doc_ids, ids = small_index(tmp_path, unit, alphabet, seed=11)
    model = SmoothedInfiniGram(g)
    levels = model.levels(ids)
    n_ids = g.index.info.n_ids
    cont = continuation_rows(model.tokens, model.sa, model.sep, n_ids, ids, levels.offsets,
                             levels.rows, cap)
    for t in range(len(ids)):
        lo, hi = levels.offsets[t], levels.offsets[t + 1]
        for j in range(lo, hi):
            L = int(levels.rows[0, j])
            shift = int(levels.rows[0, j + 1]) - L if j + 1 < hi else 1
            k = brute_continuation(doc_ids, ids[:t], L, shift, g.sep, n_ids)
            k[g.sep] = 0
            want = [k[ids[t]], k.sum(), (k == 1).sum(), (k == 2).sum(), (k >= 3).sum()]
            assert cont[:, j].tolist() == want, (t, L)


@pytest.mark.parametrize("top_raw", [True, False])
def test_every_context_sums_to_one(tmp_path, top_raw):
    from seqlm.ngram.continuation_counts import interpolate_continuation

    g, _, ids = small_index(tmp_path, "byte", "abc\u00e9\n", seed=5)
    model = SmoothedInfiniGram(g)
    params = random_tables(np.random.default_rng(0))
    n_ids = g.index.info.n_ids
    for t in (0, 1, 7, 20, len(ids) - 1):
        total = 0.0
        for w in range(n_ids):  # the context ids[:t], every next token
            if w == g.sep:
                continue
            text = np.append(ids[:t], w)
            levels = model.levels(text)
            cont = continuation_rows(model.tokens, model.sa, model.sep, n_ids, text,
                                     levels.offsets, levels.rows, 1_000_000)
            total += interpolate_continuation(levels.offsets, levels.rows, cont, params,
                                              model.base, top_raw)[-1]
        assert total == pytest.approx(1.0, abs=1e-12), t


@pytest.mark.parametrize("unit,alphabet", [("byte", "abc\u00e9\n"), ("word", "abcd")])
def test_kernels_equal_the_numpy_distribution(tmp_path, unit, alphabet):
    g, _, ids = small_index(tmp_path, unit, alphabet, seed=3)
    model = SmoothedInfiniGram(g, random_tables(np.random.default_rng(1)))
    probs = model.token_probs(ids)
    for t in range(len(ids)):
        dist = model.distribution(ids[:t])
        assert dist.sum() == pytest.approx(1.0, abs=1e-12) and dist[g.sep] == 0.0
        assert dist[ids[t]] == pytest.approx(probs[t], rel=1e-12), t


def test_level_buckets_are_the_kernels_choice(tmp_path):
    from seqlm.ngram.smoothed_infinigram import level_buckets
    from seqlm.ngram.suffix_levels import count_bucket

    g, _, ids = small_index(tmp_path, "byte", "ab\n", seed=2)
    for counts in ("continuation", "raw"):
        levels = SmoothedInfiniGram(g, counts=counts).levels(ids)
        got = level_buckets(levels)
        for t in range(len(ids)):
            for j in range(levels.offsets[t], levels.offsets[t + 1]):
                top = counts == "raw" or j == levels.offsets[t + 1] - 1
                total = levels.rows[2, j] if top else levels.continuation[1, j]
                want = (1 if top else 0) * COUNT_BUCKETS + count_bucket(int(total), COUNT_BUCKETS)
                assert got[j] == want, (t, j)

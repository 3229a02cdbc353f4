"""The suffix index and the ∞-gram: counts against brute force, distributions, bad input."""

import random

import numpy as np
import pytest

from seqlm.errors import SeqlmError

pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")

from seqlm.ngram import index_tokens  # noqa: E402
from seqlm.ngram.infinigram import InfiniGram  # noqa: E402
from seqlm.ngram.suffix_index import SuffixIndex, build_index  # noqa: E402


def random_docs(rng: random.Random, alphabet: str, n_docs: int, words: bool) -> list[str]:
    docs = []
    for _ in range(n_docs):
        lines = []
        for _ in range(rng.randint(1, 4)):
            n = rng.randint(0, 12)
            tokens = [rng.choice(alphabet) for _ in range(n)]
            lines.append(" ".join(tokens) if words else "".join(tokens))
        docs.append("\n".join(lines) + ("\n" if rng.random() < 0.5 else ""))
    return docs


def brute_count(doc_ids: list[np.ndarray], pattern: np.ndarray) -> int:
    """Occurrences inside single documents: the oracle (no match crosses a document)."""
    m, total = len(pattern), 0
    for ids in doc_ids:
        total += sum(np.array_equal(ids[i:i + m], pattern) for i in range(len(ids) - m + 1))
    return total


@pytest.mark.parametrize("unit,alphabet", [("byte", "abc\u00e9"), ("word", "abcd"),
                                           ("char", "ab\u00e9")])
def test_counts_equal_brute_force(tmp_path, unit, alphabet):
    rng = random.Random(len(alphabet))
    for trial in range(4):
        docs = random_docs(rng, alphabet, rng.randint(1, 6), unit == "word")
        path = tmp_path / f"{unit}{trial}.idx"
        build_index(docs, unit, path)
        g = InfiniGram(path)
        doc_ids = [index_tokens.encode(d, unit, g.vocab) for d in docs]
        flat = np.concatenate(doc_ids)
        for _ in range(40):
            if rng.random() < 0.7 and len(flat):  # a string that occurs, maybe across docs
                i = rng.randrange(len(flat))
                pattern = flat[i:i + rng.randint(1, 5)]
            else:
                pattern = np.array([rng.randrange(3, g.index.info.n_ids)
                                    for _ in range(rng.randint(1, 3))])
            assert g.count(pattern) == brute_count(doc_ids, pattern), (docs, pattern)


def test_no_match_crosses_a_document(tmp_path):
    build_index(["ab", "cd"], "byte", tmp_path / "x.idx")
    g = InfiniGram(tmp_path / "x.idx")
    assert g.count("b\n") == 1 and g.count("\nc") == 0 and g.count("b\ncd") == 0
    n, hits = g.find("c", around=5)
    assert n == 1 and hits[0].document == 1 and hits[0].left == "" and hits[0].right == "d\n"


def brute_distribution(doc_ids: list[np.ndarray], context: np.ndarray, min_count: int = 1
                       ) -> tuple[int, dict[int, int]]:
    """The longest suffix of context followed by a token somewhere, and what followed it."""
    for L in range(len(context), -1, -1):
        suffix, following = context[len(context) - L:], {}
        for ids in doc_ids:
            for i in range(len(ids) - L):
                if np.array_equal(ids[i:i + L], suffix):
                    following[int(ids[i + L])] = following.get(int(ids[i + L]), 0) + 1
        if sum(following.values()) >= max(min_count, 1) or L == 0:
            return L, following
    raise AssertionError("the empty context is always followed")


@pytest.mark.parametrize("unit", ["byte", "word"])
def test_distribution_uses_longest_suffix_and_sums_to_one(tmp_path, unit):
    rng = random.Random(7)
    docs = random_docs(rng, "abc", 8, unit == "word")
    build_index(docs, unit, tmp_path / "d.idx")
    g = InfiniGram(tmp_path / "d.idx")
    doc_ids = [index_tokens.encode(d, unit, g.vocab) for d in docs]
    flat = np.concatenate(doc_ids)
    for _ in range(30):
        i = rng.randrange(len(flat))
        context = np.concatenate([flat[max(0, i - rng.randint(0, 8)):i],
                                  flat[rng.randrange(len(flat)):][:rng.randint(0, 2)]])
        d = g.distribution(context)
        L, following = brute_distribution(doc_ids, context)
        assert d.suffix_length == L
        assert dict(zip(d.ids.tolist(), d.counts.tolist(), strict=True)) == following
        assert d.probs.sum() == pytest.approx(1.0)
        for token, c in following.items():
            p, used = g.prob(np.array([token]), context)
            assert used == L and p == pytest.approx(c / sum(following.values()))
            _, total, sparse = g.conditional(context[len(context) - L:], token)
            assert total == sum(following.values())
            assert sparse == (len(following) == 1 and L > 0)


@pytest.mark.parametrize("min_count", [1, 3, 10])
def test_token_probs_at_a_minimum_count_equal_brute_force(tmp_path, min_count):
    rng = random.Random(min_count)
    docs = random_docs(rng, "abc", 6, False)
    build_index(docs, "byte", tmp_path / "m.idx")
    g = InfiniGram(tmp_path / "m.idx")
    doc_ids = [index_tokens.encode(d, "byte", g.vocab) for d in docs]
    text = index_tokens.encode("".join(rng.choice("abcd") for _ in range(60)), "byte", g.vocab)
    got = g.token_probs(text, min_count=min_count)
    for t in range(len(text)):
        L, following = brute_distribution(doc_ids, text[:t], min_count)
        total = sum(following.values())
        assert got.lengths[t] == L and got.totals[t] == total
        assert got.probs[t] == pytest.approx(following.get(int(text[t]), 0) / total)


def test_score_is_the_sum_of_token_probabilities(tmp_path):
    build_index(["abcabd\nabc\n"], "byte", tmp_path / "s.idx")
    g = InfiniGram(tmp_path / "s.idx")
    text = "abcx\n"
    ids = g.encode(text, line_end=True)
    probs = [g.prob(np.array([ids[t]]), ids[:t])[0] for t in range(len(ids))]
    s = g.score(text)
    assert s.tokens == 5 and s.zero_tokens == sum(p == 0 for p in probs) == 1  # x never seen
    assert s.nll_nats == pytest.approx(-sum(np.log(p) for p in probs if p > 0))
    p_c, L = g.prob("c", "ab")
    assert (p_c, L) == (pytest.approx(2 / 3), 2)  # ab -> c, d, c


def test_token_widths_follow_the_vocabulary(tmp_path):
    build_index(["a b"], "word", tmp_path / "small.idx")
    assert SuffixIndex(tmp_path / "small.idx").tokens.dtype == np.dtype("uint8")
    rng = random.Random(3)
    docs = [" ".join(f"w{rng.randrange(400)}" for _ in range(200)) for _ in range(3)]
    build_index(docs, "word", tmp_path / "big.idx")
    g = InfiniGram(tmp_path / "big.idx")
    assert g.index.tokens.dtype.str == ">u2"  # big-endian: byte order is id order
    doc_ids = [index_tokens.encode(d, "word", g.vocab) for d in docs]
    for d in doc_ids:
        for i in range(0, len(d), 7):
            assert g.count(d[i:i + 2]) == brute_count(doc_ids, d[i:i + 2])


def test_bad_inputs_are_one_line_errors(tmp_path):
    build_index(["some text\n"], "byte", tmp_path / "b.idx")
    with pytest.raises(SeqlmError, match="indexes byte tokens, not word"):
        InfiniGram(tmp_path / "b.idx", unit="word")
    (tmp_path / "junk.idx").write_bytes(b"not an index at all")
    with pytest.raises(SeqlmError, match="not a seqlm suffix index"):
        SuffixIndex(tmp_path / "junk.idx")
    data = (tmp_path / "b.idx").read_bytes()
    (tmp_path / "short.idx").write_bytes(data[:-3])
    with pytest.raises(SeqlmError, match="cut short"):
        SuffixIndex(tmp_path / "short.idx")
    flipped = bytearray(data)
    flipped[SuffixIndex(tmp_path / "b.idx").info.offsets["tokens"] + 2] ^= 1
    (tmp_path / "flip.idx").write_bytes(bytes(flipped))
    with pytest.raises(SeqlmError, match="checksum"):
        SuffixIndex(tmp_path / "flip.idx").verify()
    SuffixIndex(tmp_path / "b.idx").verify()
    with pytest.raises(SeqlmError, match="no index at"):
        SuffixIndex(tmp_path / "missing.idx")
    with pytest.raises(SeqlmError, match="ask for one token"):
        InfiniGram(tmp_path / "b.idx").prob("ab", "x")


def test_build_reports_progress(tmp_path):
    events = []
    build_index(["abc\n"] * 300, "byte", tmp_path / "p.idx", progress=events.append)
    tasks = {e.task for e in events}
    assert tasks == {"index: tokens", "index: suffix array"}
    assert events[-1].done == events[-1].total == 1

"""Every smoothing on a corpus small enough to work out by hand, and the invariants:
distributions sum to one, token scores add up to the sentence score, discounts fall back."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import fit
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.stream import NGRAM_BOS_ID

TINY = "a b\na\n"  # <s> a b </s> <s> a </s>; |V| = 4 (<unk>, </s>, a, b; not <s>)


def model(smoothing, order=2, text=TINY, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        return fit(text, NgramConfig(order=order, smoothing=smoothing, **kw))


def p(m, word, *context):
    return math.exp(m.logprob(word, list(context)))


def test_mle_by_hand():
    m = model("mle")
    assert p(m, "a", "<s>") == pytest.approx(1.0)
    assert p(m, "b", "a") == pytest.approx(0.5)
    assert p(m, "b", "<s>") == 0.0  # a seen context with an unseen word
    assert p(m, "a") == pytest.approx(2 / 5)  # unigrams: a a b </s> </s>
    assert p(m, "b", "zz") == pytest.approx(1 / 5)  # after an OOV the context is empty
    assert m.score("a b") == pytest.approx(math.log(0.5))


def test_addk_by_hand():
    m = model("addk", k=1.0)
    assert p(m, "a", "<s>") == pytest.approx(3 / 6)  # (2 + 1) / (2 + 4)
    assert p(m, "b", "<s>") == pytest.approx(1 / 6)  # the floor of context <s>
    assert p(m, "b", "a") == pytest.approx(2 / 6)
    assert p(m, "</s>", "b") == pytest.approx(2 / 5)
    assert p(m, "a") == pytest.approx(3 / 9)  # (2 + 1) / (5 + 4)
    half = model("addk", k=0.5)
    assert p(half, "a", "<s>") == pytest.approx(2.5 / 4)


def test_kneser_ney_by_hand():
    m = model("kn")
    # order 2: t1 = 3, t2 = 1 -> D = 0.6; order 1 (adjusted a=1, b=1, </s>=2): D = 0.5
    uni = {"a": 0.125 + 0.375 / 4, "b": 0.125 + 0.375 / 4, "</s>": 0.375 + 0.375 / 4}
    assert p(m, "a") == pytest.approx(uni["a"])
    assert p(m, "<unk>") == pytest.approx(0.375 / 4)
    assert p(m, "a", "<s>") == pytest.approx(1.4 / 2 + 0.3 * uni["a"])
    assert p(m, "b", "a") == pytest.approx(0.4 / 2 + 0.6 * uni["b"])
    assert p(m, "b", "<s>") == pytest.approx(0.3 * uni["b"])
    assert m.score("a b") == pytest.approx(
        math.log((0.7 + 0.3 * uni["a"]) * (0.2 + 0.6 * uni["b"]) * (0.4 + 0.6 * uni["</s>"])))


def test_modified_kneser_ney_by_hand_with_fallback_discounts():
    m = model("mkn")  # t3 = 0 at both orders: D = (0.5, 1, 1.5)
    assert m.info["fallback_orders"] == [1, 2]
    uni = {"a": 0.25, "b": 0.25, "</s>": 0.375, "<unk>": 0.125}
    for w, pw in uni.items():
        assert p(m, w) == pytest.approx(pw)
    assert p(m, "a", "<s>") == pytest.approx((2 - 1) / 2 + 0.5 * 0.25)  # a(<s> a) = 2 -> D2
    assert p(m, "b", "a") == pytest.approx(0.5 / 2 + 0.5 * 0.25)
    assert p(m, "</s>", "b") == pytest.approx(0.5 + 0.5 * 0.375)


def test_stupid_backoff_by_hand():
    m = model("stupid", alpha=0.4)
    assert p(m, "a", "<s>") == pytest.approx(1.0)
    assert p(m, "b", "<s>") == pytest.approx(0.4 * 1 / 5)
    assert p(m, "</s>", "b") == pytest.approx(1.0)
    three = model("stupid", order=3, alpha=0.4)
    assert p(three, "b", "<s>", "b") == pytest.approx(0.4 * 0.4 * 1 / 5)  # two orders down


def test_bos_is_never_predicted():
    for smoothing in ("mle", "addk", "kn", "mkn"):
        m = model(smoothing)
        assert m.distribution(["a"])[NGRAM_BOS_ID] == 0.0
        assert m.logprob("<s>", ["a"]) == -math.inf


corpora = st.lists(st.lists(st.sampled_from("abcd"), max_size=6), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(sentences=corpora, order=st.integers(1, 4),
       smoothing=st.sampled_from(["mle", "addk", "kn", "mkn"]),
       context=st.lists(st.sampled_from(["a", "b", "c", "d", "zz"]), max_size=4),
       start=st.booleans())
def test_every_context_distribution_sums_to_one(sentences, order, smoothing, context, start):
    m = model(smoothing, order=order, text="".join(" ".join(s) + "\n" for s in sentences))
    ctx = (["<s>"] if start else []) + context
    dist = m.distribution(ctx)
    assert dist.sum() == pytest.approx(1.0, abs=1e-9)
    logps = [m.logprob(w, ctx) for w in m.vocab.tokens if w != "<s>"]
    assert np.allclose(np.exp(logps), np.delete(dist, NGRAM_BOS_ID), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(sentences=corpora, order=st.integers(1, 5),
       smoothing=st.sampled_from(["mle", "addk", "kn", "mkn", "stupid"]),
       line=st.lists(st.sampled_from(["a", "b", "c", "zz"]), max_size=8))
def test_token_scores_add_up_to_the_sentence_score(sentences, order, smoothing, line):
    m = model(smoothing, order=order, text="".join(" ".join(s) + "\n" for s in sentences))
    sentence = " ".join(line)
    parts = m.token_scores(sentence)
    assert len(parts) == len(line) + 1 and parts[-1].token == "</s>"
    total = sum(t.nats for t in parts)
    assert total == pytest.approx(m.score(sentence)) or total == m.score(sentence)  # -inf too
    report = m.perplexity(sentence + "\n")
    assert report.tokens == len(parts) and report.oovs == sum(t.oov for t in parts)
    if math.isfinite(total):
        assert -report.nll_nats == pytest.approx(total)


def test_discount_fallback_names_the_order_on_a_100_line_corpus():
    text = "".join(f"the cat number {i % 7} sat on the mat\n" for i in range(100))
    with pytest.warns(DiscountFallbackWarning, match=r"order 1: .*fallback discounts 0.5, 1, 1.5"):
        m = fit(text, NgramConfig(order=3, smoothing="mkn"))
    assert 1 in m.info["fallback_orders"]
    assert m.info["discounts"][0] == [0.5, 1.0, 1.5]
    assert m.distribution(["<s>", "the"]).sum() == pytest.approx(1.0)
    with pytest.raises(SeqlmError, match="order 1.*leave out --no-discount-fallback"):
        fit(text, NgramConfig(order=3, smoothing="mkn", discount_fallback=False))


def test_sampling_is_seeded_and_temperature_checked():
    from seqlm.decoding.sentences import sample_sentences as sample

    m = model("kn", order=2, text="a b c\na c\nb c a\n" * 5)
    assert sample(m, 4, seed=3) == sample(m, 4, seed=3)
    assert all(set(s.split()) <= {"a", "b", "c"} for s in sample(m, 10, seed=1))
    assert sample(m, 2, seed=0, prefix="b")[0].startswith("b")
    assert len(set(sample(m, 4, seed=1, temperature=0))) == 1  # greedy: one sentence
    with pytest.raises(SeqlmError, match="temperature"):
        sample(m, 1, seed=0, temperature=-1)


def test_top_k_is_sorted_and_bad_settings_are_named():
    m = model("mkn", order=2)
    best = m.top_k(["<s>"], 3)
    assert best[0][0] == "a" and [q for _, q in best] == sorted([q for _, q in best], reverse=True)
    for bad, match in [({"smoothing": "katz"}, "smoothing = .katz. is not a choice"),
                       ({"k": 0.0}, "k = 0 is out of range: choose a value > 0"),
                       ({"alpha": 2.0}, "alpha"), ({"unit": "subword"}, "unit = .subword.")]:
        with pytest.raises(SeqlmError, match=match):
            fit(TINY, NgramConfig(**bad))


def test_a_string_context_is_read_as_the_models_own_tokens():
    text = "I love thee\nI love thee not\nyou love me\n" * 10
    m = model("kn", order=3, text=text)
    assert m.logprob("thee", "I love") == pytest.approx(m.logprob("thee", ["I", "love"]))
    assert m.logprob("thee", "I love") > m.logprob("me", "I love")

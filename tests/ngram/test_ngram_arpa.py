"""ARPA files: write -> read round trip, KenLM's reader agrees, malformed files name the line."""

import math
import warnings

import numpy as np
import pytest

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import fit, read_arpa, write_arpa
from seqlm.ngram.arpa import escape
from seqlm.ngram.byte_layout import decimal_matrix, texts
from seqlm.ngram.discounts import DiscountFallbackWarning

kenlm = pytest.importorskip("kenlm")

TRAIN = "".join(f"the {a} {v} the {b} .\n" for a, v, b in [
    ("cat", "sees", "dog"), ("dog", "sees", "cat"), ("cat", "eats", "fish"),
    ("bird", "sees", "fish"), ("dog", "eats", "bone"), ("cat", "sees", "bird")] * 3) + "\n"
TEST = "the cat sees the fish .\nthe cow eats the bone .\n\nthe dog sees a zebra\n"


def trained(order, unit="word", text=TRAIN, smoothing="mkn"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        return fit(text, NgramConfig(order=order, unit=unit, smoothing=smoothing))


def kenlm_perplexity(path, text, unit):
    """KenLM query's report: per-line full scores, OOVs counted and excluded."""
    km = kenlm.Model(str(path))
    total = oov_total = 0.0
    tokens = oovs = 0
    for line in text.split("\n")[:-1]:
        words = line.split() if unit == "word" else [escape(c, unit) for c in line]
        for log10_p, _, oov in km.full_scores(" ".join(words)):
            total += log10_p
            tokens += 1
            oovs += oov
            oov_total += log10_p if oov else 0.0
    return 10 ** (-total / tokens), 10 ** (-(total - oov_total) / (tokens - oovs)), tokens, oovs


@pytest.mark.parametrize("order,unit,smoothing", [(3, "word", "mkn"), (2, "word", "kn"),
                                                  (4, "char", "mkn"), (3, "byte", "mkn")])
def test_kenlm_reads_our_arpa_and_agrees(tmp_path, order, unit, smoothing):
    m = trained(order, unit, TRAIN + "naïve café\n", smoothing)
    path = write_arpa(m, tmp_path / "m.arpa")
    ours = m.perplexity(TEST)
    ppl, ppl_ex, tokens, oovs = kenlm_perplexity(path, TEST, unit)
    assert (tokens, oovs) == (ours.tokens, ours.oovs)
    assert ppl == pytest.approx(ours.perplexity, rel=1e-5)
    assert ppl_ex == pytest.approx(ours.perplexity_excluding_oov, rel=1e-5)


@pytest.mark.parametrize("order,unit,smoothing", [(3, "word", "mkn"), (1, "word", "kn"),
                                                  (5, "char", "mkn"), (2, "word", "mle")])
def test_round_trip(tmp_path, order, unit, smoothing):
    m = trained(order, unit, smoothing=smoothing)
    back = read_arpa(write_arpa(m, tmp_path / "m.arpa"))
    assert back.vocab == m.vocab and back.unit == unit and back.order == order
    for a, b in zip(m.keys, back.keys, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(m.logp, back.logp, strict=True):
        finite = np.isfinite(a)
        assert np.allclose(a[finite], b[finite], atol=1e-6)
    for line in TEST.split("\n"):
        if math.isinf(m.score(line)):  # p = 0 is written as log10 -99, read back literally
            assert back.score(line) < -99 * math.log(10)
        else:
            assert back.score(line) == pytest.approx(m.score(line), rel=1e-6, abs=1e-5)


def test_addk_and_stupid_cannot_be_written(tmp_path):
    for smoothing in ("addk", "stupid"):
        with pytest.raises(SeqlmError, match="cannot be written as ARPA"):
            write_arpa(trained(2, smoothing=smoothing), tmp_path / "x.arpa")


def test_decimals_are_shortest_float32_texts():
    values = np.array([-5.08389119, -99.0, 0.0, -0.0000000004, -9.99999996, -123.456789, 0.25,
                       -1e-7, 1.0, -1234.5], dtype=np.float32)
    text = [t.decode() for t in texts(decimal_matrix(values))]
    assert text == ["-5.0838914", "-99", "0", "-0.0000000004", "-10", "-123.45679", "0.25",
                    "-0.0000001", "1", "-1234.5"]
    rng = np.random.default_rng(0)
    many = np.concatenate([-rng.exponential(2.0, 20000), -(10.0 ** -rng.uniform(0, 9, 2000)),
                           rng.uniform(-99, 99, 2000)]).astype(np.float32)
    for t, v in zip(texts(decimal_matrix(many)), many, strict=True):
        t = t.decode()
        assert np.float32(float(t)) == v  # reads back as the same float32
        shortest = np.format_float_positional(v, unique=True, trim="-")
        assert len(t.lstrip("-0.")) <= len(shortest.lstrip("-0."))


def test_distinct_rows_are_the_rows_of_every_value():
    """Few distinct values (formatted once, looked up) and many (formatted each) give the
    rows `decimal_matrix` gives, and so do the backoffs' rows with their zero marks."""
    from seqlm.ngram.arpa import backoff_decimals, backoff_rows
    from seqlm.ngram.byte_layout import FEW_DISTINCT, distinct_rows

    rng = np.random.default_rng(1)
    few = rng.choice(np.array([-0.25, 0.0, -0.0, -1.5, -99.0, -0.30103], dtype=np.float32), 5000)
    many = -rng.exponential(2.0, 5000).astype(np.float32)
    assert len(np.unique(few)) * FEW_DISTINCT <= len(few) < len(np.unique(many)) * FEW_DISTINCT
    for values in (few, many):
        assert texts(distinct_rows(values)) == texts(decimal_matrix(values))
        assert texts(backoff_decimals(values)) == texts(backoff_rows(values))
    assert texts(backoff_decimals(few))[np.flatnonzero(few == 0)[0]] == b"\x00"  # mark only


def test_kenlm_precision_model_agrees_with_kenlm_exactly(tmp_path):
    config = NgramConfig(order=3, smoothing="mkn", precision="kenlm")
    m = fit(TRAIN * 3, config)
    report = m.perplexity(TEST)
    km = kenlm.Model(str(write_arpa(m, tmp_path / "m.arpa")))
    total = sum(km.score(line) for line in TEST.split("\n")[:-1])  # float sums per sentence
    assert 10 ** (-total / report.tokens) == pytest.approx(report.perplexity, rel=1e-12)


GOOD = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.3
-0.5\t</s>
-0.6\ta\t-0.2

\\2-grams:
-0.1\t<s> a
-0.2\ta </s>

\\end\\
"""


def test_reads_a_hand_written_arpa(tmp_path):
    (tmp_path / "g.arpa").write_text(GOOD)
    m = read_arpa(tmp_path / "g.arpa")
    assert m.logprob("a", ["<s>"]) == pytest.approx(-0.1 * math.log(10))
    assert m.logprob("</s>", ["<s>"]) == pytest.approx((-0.3 - 0.5) * math.log(10))
    assert m.score_log10("a") == pytest.approx(-0.1 - 0.2)


@pytest.mark.parametrize("old,new,match", [
    ("\\data\\", "\\dada\\", r"line 1: expected \\data\\"),
    ("-0.6\ta\t-0.2", "-0.6\ta b c", "line 9: expected log10 p, 1 word"),
    ("-0.6\ta\t-0.2", "minus\ta", "line 9: not a number"),
    ("-0.2\ta </s>", "-0.2\tb </s>", "line 13: the word 'b' is not among the unigrams"),
    ("-0.2\ta </s>", "-0.2\ta zz", "line 13: the word 'zz'"),
    ("-0.2\ta </s>", "-0.1\t<s> a", "line 13: the n-gram '<s> a' appears twice"),
    ("ngram 2=2", "ngram 2=3", "line 15: expected log10 p"),
    ("\\end\\", "", r"ends early"),
    ("\\2-grams:", "\\3-grams:", r"line 11: expected the section header \\2-grams:"),
    ("-0.5\t</s>", "-0.5\ta", "line 8: the unigram 'a' appears twice|lack </s>"),
])
def test_malformed_arpa_names_the_line(tmp_path, old, new, match):
    path = tmp_path / "bad.arpa"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SeqlmError, match=match):
        read_arpa(path)


@pytest.mark.parametrize("old,new,match", [
    ("-0.1\t<s> a", "nan\t<s> a", "line 12: log10 probability is NaN"),
    ("-0.1\t<s> a", "inf\t<s> a", "line 12: log10 probability is positive"),
    ("-0.1\t<s> a", "0.25\t<s> a", "line 12: log10 probability is positive"),
    ("-0.1\t<s> a", "-inf\t<s> a", "line 12: log10 probability is -inf"),
    ("-1.0\t<unk>", "-inf\t<unk>", "line 6: log10 probability is -inf: only <s>"),
    ("-0.6\ta\t-0.2", "-0.6\ta\tnan", "line 9: backoff is NaN or infinite"),
    ("-0.6\ta\t-0.2", "-0.6\ta\t-inf", "line 9: backoff is NaN or infinite"),
    ("-0.6\ta\t-0.2", "-0.6\ta\tinf", "line 9: backoff is NaN or infinite"),
])
def test_values_kenlm_refuses_are_refused_with_the_line(tmp_path, old, new, match):
    path = tmp_path / "bad.arpa"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SeqlmError, match=match):
        read_arpa(path)


def test_conventions_arpa_files_use_are_accepted(tmp_path):
    """<s> as lmplz writes it (0), as SRILM does (-99), or -inf; backoffs written as 0, in
    exponent notation, or positive; spaces instead of tabs; blank lines; CRLF."""
    for bos in ("0", "-99", "-inf"):
        text = GOOD.replace("-99\t<s>\t-0.3", f"{bos}\t<s>\t-3e-1").replace(
            "-0.5\t</s>", "-0.5\t</s>\t0").replace("-0.2\ta </s>", "-0.2 a  </s>\n\n")
        (tmp_path / "ok.arpa").write_text(text.replace("\n", "\r\n"))
        m = read_arpa(tmp_path / "ok.arpa")
        assert m.logprob("</s>", ["<s>"]) == pytest.approx((-0.3 - 0.5) * math.log(10))
        assert m.logprob("<s>", ["a"]) == -math.inf


def test_a_context_missing_below_names_the_line(tmp_path):
    text = GOOD.replace("ngram 2=2", "ngram 2=2\nngram 3=1").replace(
        "\\end\\", "\\3-grams:\n-0.3\ta a </s>\n\n\\end\\")
    (tmp_path / "three.arpa").write_text(text)
    with pytest.raises(SeqlmError, match="line 17: the context 'a a' of this n-gram is not among "
                                         "the 2-grams"):
        read_arpa(tmp_path / "three.arpa")


def test_missing_arpa_file(tmp_path):
    with pytest.raises(SeqlmError, match="does not exist"):
        read_arpa(tmp_path / "nope.arpa")

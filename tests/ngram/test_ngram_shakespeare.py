"""The KenLM anchors on Tiny Shakespeare words (train = first 90% of characters, test = rest).

lmplz (default settings) and query give: order 3 test perplexity 495.1288 including OOVs,
248.3524 excluding; order 5: 494.1879 and 247.9408; order-5 counts 23,844 / 109,114 / 154,793 /
147,366 / 127,271; unigram discounts 0.690589, 1.03646, 1.39024. Counts and discounts match
exactly. lmplz and query compute in single precision (float log10 values, float sums per
sentence): `precision="kenlm"` does the same and must give the anchors to four decimals; the
default double precision moves the perplexities including OOVs by up to 8e-5 (docs/ngram.md).
"""

import pytest

from conftest import tinyshakespeare_dir
from seqlm.config import CorpusConfig, NgramConfig
from seqlm.data.corpora import load_corpus
from seqlm.ngram import fit, write_arpa

ANCHORS = {3: (495.1288, 248.3524), 5: (494.1879, 247.9408)}


@pytest.fixture(scope="module")
def shakespeare():
    directory = tinyshakespeare_dir()
    if directory is None:
        pytest.skip("Tiny Shakespeare not found: set SEQLM_DATA_DIR to a folder holding it")
    corpus = load_corpus(CorpusConfig("tinyshakespeare", data_dir=str(directory)))
    return corpus.text("train"), corpus.text("valid")


@pytest.mark.parametrize("order", [3, 5])
def test_perplexity_anchors_to_four_decimals(shakespeare, order):
    train, test = shakespeare
    config = NgramConfig(order=order, smoothing="mkn", unit="word", precision="kenlm")
    report = fit(train, config).perplexity(test)
    assert report.tokens == 24628 and report.oovs == 2361
    assert (round(report.perplexity, 4), round(report.perplexity_excluding_oov, 4)) == \
        ANCHORS[order]


@pytest.mark.parametrize("order", [3, 5])
def test_double_precision_is_within_a_float_rounding(shakespeare, order):
    train, test = shakespeare
    report = fit(train, NgramConfig(order=order, smoothing="mkn")).perplexity(test)
    including, excluding = ANCHORS[order]
    assert report.perplexity == pytest.approx(including, abs=1e-4)
    assert round(report.perplexity_excluding_oov, 4) == excluding


def test_counts_and_discount_anchors(shakespeare):
    model = fit(shakespeare[0], NgramConfig(order=5, smoothing="mkn", unit="word"))
    assert model.sizes() == [23844, 109114, 154793, 147366, 127271]
    six_digits = [float(f"{d:.6g}") for d in model.info["discounts"][0]]
    assert six_digits == [0.690589, 1.03646, 1.39024]
    assert model.info["fallback_orders"] == []


def test_kenlm_module_on_our_arpa_gives_the_anchor(shakespeare, tmp_path):
    kenlm = pytest.importorskip("kenlm")
    train, test = shakespeare
    model = fit(train, NgramConfig(order=3, smoothing="mkn", precision="kenlm"))
    report = model.perplexity(test)
    km = kenlm.Model(str(write_arpa(model, tmp_path / "3.arpa")))
    total = sum(km.score(line) for line in test.split("\n")[:-1])  # query's float sums
    assert 10 ** (-total / report.tokens) == pytest.approx(report.perplexity, rel=1e-12)
    assert round(10 ** (-total / report.tokens), 4) == ANCHORS[3][0]

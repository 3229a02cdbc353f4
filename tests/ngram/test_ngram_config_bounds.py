"""The n-gram bounds, stated once in `NgramConfig` and used by everything that takes a unit,
a precision or an order: add-k's k > 0 (k = 0 is `mle`), stupid backoff's 0 < alpha <= 1,
KenLM's precision only for ARPA-form smoothings, pruning only for Kneser-Ney."""

import pytest

from seqlm.cli import main
from seqlm.config import NgramConfig
from seqlm.config.ngram import MAX_ORDER, SMOOTHINGS, check_precision, check_unit
from seqlm.errors import ConfigError, SeqlmError
from seqlm.ngram import fit
from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.arpa_read import read_arpa
from seqlm.ngram.smoothing import ESTIMATORS

TEXT = "the cat sat\nthe dog sat\nthe cat ran\n"


@pytest.mark.parametrize("given, needle", [
    ({"k": 0.0}, "k = 0 is out of range: choose a value > 0"),
    ({"k": -1.0}, "k = -1 is out of range"),
    ({"alpha": 0.0}, "alpha = 0 is out of range: choose a value in (0, 1]"),
    ({"alpha": 1.5}, "alpha = 1.5 is out of range: choose a value in (0, 1]"),
    ({"order": 0}, "order = 0 is out of range: choose a value from 1 to 16"),
    ({"order": MAX_ORDER + 1}, "order = 17 is out of range"),
    ({"smoothing": "addk", "precision": "kenlm"}, "needs an ARPA-form smoothing"),
    ({"smoothing": "stupid", "prune": (0, 1)}, "works with Kneser-Ney"),
])
def test_out_of_bounds_is_refused_by_the_config(given, needle):
    with pytest.raises(ConfigError) as e:
        NgramConfig(**given)
    assert needle in str(e.value)


@pytest.mark.parametrize("given", [{"k": 1e-9}, {"k": 0.5}, {"alpha": 1.0}, {"alpha": 1e-3},
                                   {"smoothing": "mle", "precision": "kenlm"},
                                   {"smoothing": "kn", "prune": (0, 1)}])
def test_the_edges_inside_the_bounds_are_taken(given):
    NgramConfig(**given)


def test_k_at_the_smallest_and_alpha_at_one_fit_a_model():
    tiny = fit(TEXT, NgramConfig(order=2, smoothing="addk", k=1e-9, unit="word"))
    mle = fit(TEXT, NgramConfig(order=2, smoothing="mle", unit="word"))
    # add-k with k -> 0 tends to maximum likelihood on the n-grams that were seen
    assert tiny.logprob("sat", ("cat",)) == pytest.approx(mle.logprob("sat", ("cat",)), abs=1e-6)
    assert fit(TEXT, NgramConfig(order=2, smoothing="stupid", alpha=1.0, unit="word"))


def test_every_smoothing_of_the_config_has_an_estimator():
    assert set(SMOOTHINGS) == set(ESTIMATORS)


def test_units_and_precisions_are_checked_by_the_one_rule(tmp_path):
    assert check_unit("char") == "char" and check_precision("kenlm") == "kenlm"
    for bad in ("", "syllable"):
        with pytest.raises(ConfigError, match="unit = .* is not a choice"):
            check_unit(bad)
    write_arpa(fit(TEXT, NgramConfig(order=2, smoothing="kn", unit="word")), tmp_path / "m.arpa")
    with pytest.raises(ConfigError, match="unit = 'syllable' is not a choice"):
        read_arpa(tmp_path / "m.arpa", unit="syllable")
    with pytest.raises(ConfigError, match="precision = 'half' is not a choice"):
        read_arpa(tmp_path / "m.arpa", precision="half")
    with pytest.raises(SeqlmError, match="unit = '' is not a choice"):  # never resolved
        fit(TEXT, NgramConfig(order=2, unit=""))


@pytest.mark.parametrize("argv, needle", [
    (["--smoothing", "addk", "--k", "0"], "--k 0 is out of range: choose a value > 0"),
    (["--smoothing", "stupid", "--alpha", "2"], "--alpha 2 is out of range"),
])
def test_the_command_names_the_option(tmp_path, capsys, argv, needle):
    (tmp_path / "c.txt").write_text(TEXT)
    code = main(["ngram", "train", "--corpus", f"file:{tmp_path / 'c.txt'}", "--out",
                 str(tmp_path / "r"), *argv])
    assert code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

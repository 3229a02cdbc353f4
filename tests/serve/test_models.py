"""What `seqlm serve` loads from a path: each kind of n-gram file by what it is, run
directories by their checkpoint, ids from the paths' last names (unique), nothing else."""

import warnings

import pytest

from seqlm.config import NgramConfig, ServeConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import fit, write_arpa, write_binary
from seqlm.ngram.tables import BackoffTables
from seqlm.serve.models import load_models, load_one, model_ids

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 5


@pytest.fixture(scope="module")
def trigram(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(TEXT, NgramConfig(order=3, unit="word", smoothing="kn"))


def test_arpa_binary_and_ngram_run_directories_load_as_the_same_model(trigram, tmp_path):
    run = tmp_path / "run"
    arpa = write_arpa(trigram, run / "model.arpa")
    binary = write_binary(BackoffTables.of_model(trigram), tmp_path / "model.bin")
    answers = [load_one(name, path).next("the cat", True, 5)["next"]
               for name, path in (("a", arpa), ("b", binary), ("r", run))]
    assert answers[0] == answers[2]
    assert [t["token"] for t in answers[1]] == [t["token"] for t in answers[0]]
    assert [t["p"] for t in answers[1]] == pytest.approx([t["p"] for t in answers[0]], rel=1e-5)


def test_ids_are_last_names_made_unique(tmp_path):
    paths = [tmp_path / "a" / "verbs", tmp_path / "b" / "verbs", tmp_path / "ts5.arpa"]
    assert model_ids(paths) == ["verbs", "verbs-2", "ts5"]


def test_what_is_no_model_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SeqlmError, match="does not exist"):
        load_one("x", tmp_path / "missing")
    with pytest.raises(SeqlmError):
        load_one("x", tmp_path / "notes.txt")  # not a checkpoint either
    with pytest.raises(SeqlmError, match="at least one model"):
        load_models(ServeConfig())

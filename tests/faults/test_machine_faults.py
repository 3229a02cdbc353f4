"""Faults of the machine: a read-only folder, a full disk, a folder where a file should be.
Each is one line and exit code 2, and leaves nothing half-written (no temporary files, no
empty run directory)."""

import pytest

from faults.conftest import TINY_LM, assert_one_line_error, snapshot

NGRAM = ("ngram", "train", "--corpus", "verbs", "--size", "200", "--quiet")


@pytest.mark.parametrize("command", [
    ("ngram-out", [*NGRAM, "--out", "readonly/run"], ["ngram", "train"]),
    ("ngram-arpa", [*NGRAM, "--arpa", "readonly/m.arpa", "--out", "ok"], ["ngram", "train"]),
    ("train", ["train", *TINY_LM, "--out", "readonly/run"], ["train"]),
    ("lab", ["lab", "--quick", "--steps", "corpora", "--quiet", "--out", "readonly/lab"],
     ["lab"]),
], ids=lambda c: c[0])
def test_a_read_only_folder_is_one_line(seqlm, tmp_path, readonly_dir, command):
    _, args, words = command
    code, _, err = seqlm(*args)
    assert_one_line_error(code, err, words, "Read-only file system")
    assert "readonly" in err


def test_the_default_runs_folder_in_a_read_only_working_directory(seqlm, readonly_dir):
    code, _, err = seqlm(*NGRAM, cwd=readonly_dir)
    assert_one_line_error(code, err, ["ngram", "train"], "cannot use runs/ngram-train-")
    assert "Read-only file system" in err


def test_a_heatmap_into_a_read_only_folder(seqlm, readonly_dir, trained_seq2seq):
    code, _, err = seqlm("seq2seq", "translate", str(trained_seq2seq), "March 14, 2024",
                         "--heatmap", str(readonly_dir / "h.png"))
    assert_one_line_error(code, err, ["seq2seq", "translate"], "Read-only file system")


@pytest.mark.parametrize("command", [
    ("ngram", ["ngram", "train", "--corpus", "verbs", "--order", "5", "--quiet"],
     ["ngram", "train"], "model.arpa"),
    ("train", ["train", *TINY_LM[:-1], "--hidden-size", "96", "--quiet"], ["train"], ".pt"),
], ids=lambda c: c[0])
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(seqlm, full_dir, command):
    _, args, words, file = command
    code, _, err = seqlm(*args, "--out", str(full_dir / "run"))
    assert_one_line_error(code, err, words, "No space left on device")
    assert file in err
    assert not [p for p in full_dir.rglob("*.tmp")]  # no temporary file left behind
    assert not (full_dir / "run").exists() or (full_dir / "run" / "manifest.json").exists()


def test_arpa_naming_a_folder(seqlm, tmp_path):
    (tmp_path / "models").mkdir()
    code, _, err = seqlm(*NGRAM, "--arpa", "models", "--out", "r")
    assert_one_line_error(code, err, ["ngram", "train"], "is a folder: give a file path")
    assert not (tmp_path / "r").exists()
    before = snapshot(tmp_path)
    code, _, err = seqlm("ngram", "eval", "--arpa", "models", "--out", "e")
    assert_one_line_error(code, err, ["ngram", "eval"], "models")
    assert snapshot(tmp_path) == before

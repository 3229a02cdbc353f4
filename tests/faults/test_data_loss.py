"""Faults that used to destroy user data: --overwrite on a user's folder, on `.` and its
parents, on a file that is not seqlm's, and two runs in one directory at once."""

import json
import os
import socket

import pytest

from faults.conftest import assert_kept, assert_one_line_error, snapshot

NGRAM = ("ngram", "train", "--corpus", "verbs", "--size", "200", "--quiet")


def test_overwrite_never_replaces_a_folder_seqlm_did_not_write(seqlm, tmp_path):
    important = tmp_path / "important"
    important.mkdir()
    (important / "thesis.txt").write_text("three years of work")
    before = snapshot(tmp_path)
    code, _, err = seqlm(*NGRAM, "--out", "important", "--overwrite")
    assert_one_line_error(code, err, ["ngram", "train"], "seqlm did not write")
    assert_kept(before, tmp_path)


@pytest.mark.parametrize("where", [".", "..", "HOME"])
def test_overwrite_never_replaces_the_working_directory_its_parents_or_home(
        seqlm, tmp_path, monkeypatch, where):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(work))
    before = snapshot(tmp_path)
    out = str(work) if where == "HOME" else where
    code, _, err = seqlm(*NGRAM, "--out", out, "--overwrite", cwd=work)
    assert_one_line_error(code, err, ["ngram", "train"], "never replaces it")
    assert_kept(before, tmp_path)


def test_a_refused_run_leaves_the_old_run_whole(seqlm, tmp_path):
    assert seqlm(*NGRAM, "--out", "run")[0] == 0
    before = snapshot(tmp_path / "run")
    code, _, err = seqlm("ngram", "train", "--corpus", "nope", "--out", "run", "--overwrite")
    assert_one_line_error(code, err, ["ngram", "train"], "unknown corpus")
    assert_kept(before, tmp_path / "run")
    assert seqlm(*NGRAM, "--order", "2", "--out", "run", "--overwrite")[0] == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["config"]["order"] == 2 and manifest["status"] == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or lock left


def test_an_output_file_follows_the_same_rule(seqlm, tmp_path):
    (tmp_path / "mine.arpa").write_text("my hand-made model\n")
    before = snapshot(tmp_path)
    code, _, err = seqlm(*NGRAM, "--arpa", "mine.arpa", "--out", "a")
    assert_one_line_error(code, err, ["ngram", "train"], "exists: pass --overwrite")
    code, _, err = seqlm(*NGRAM, "--arpa", "mine.arpa", "--out", "b", "--overwrite")
    assert_one_line_error(code, err, ["ngram", "train"], "not written by seqlm")
    assert_kept(before, tmp_path)
    assert seqlm(*NGRAM, "--arpa", "ours.arpa", "--out", "c")[0] == 0
    assert seqlm(*NGRAM, "--order", "2", "--arpa", "ours.arpa", "--out", "d",
                 "--overwrite")[0] == 0  # seqlm's own file: replaced
    assert "order=2" in (tmp_path / "ours.arpa").read_text().splitlines()[0]


def test_a_second_run_in_the_same_directory_is_refused_while_the_first_runs(seqlm, tmp_path):
    lock = tmp_path / ".run.seqlm-lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "command": "train", "started": "now"}))
    code, _, err = seqlm(*NGRAM, "--out", "run")
    assert_one_line_error(code, err, ["ngram", "train"], f"in use by `seqlm train` (pid "
                                                         f"{os.getpid()}")
    assert not (tmp_path / "run").exists()
    # a stale lock (its process is gone) is replaced, not obeyed
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(),
                                "command": "train", "started": "then"}))
    assert seqlm(*NGRAM, "--out", "run")[0] == 0
    assert not lock.exists()


def test_heatmap_never_replaces_a_users_image(seqlm, tmp_path, trained_seq2seq):
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n not seqlm's")
    before = snapshot(tmp_path)
    code, _, err = seqlm("seq2seq", "translate", str(trained_seq2seq), "March 14, 2024",
                         "--heatmap", "photo.png", "--overwrite")
    assert_one_line_error(code, err, ["seq2seq", "translate"], "not written by seqlm")
    assert_kept(before, tmp_path)

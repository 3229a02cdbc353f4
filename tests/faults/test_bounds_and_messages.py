"""Sizes at their limits and messages that say what is wrong (issue 23, items 10-13): every
size or count option refuses what cannot work in one line; files that are not regular files
(folders, FIFOs, devices) are named for what they are; options that mean nothing for a corpus
are refused instead of ignored; devices that are not here are refused before work starts; the
Python API refuses misuse with the CLI's messages."""

import os

import pytest

import seqlm
from faults.conftest import TINY_LM, assert_one_line_error, snapshot
from seqlm.errors import SeqlmError


@pytest.mark.parametrize("option,value,needle", [
    ("--length", "1000000000", "--length 1000000000 is out of range"),
    ("--length", "0", "--length 0 is out of range"),
    ("--num-samples", "100000", "--num-samples 100000 is out of range"),
    ("--beam-width", "10000", "--beam-width 10000 is out of range"),
    ("--top-p", "1.5", "--top-p 1.5 is out of range"),
])
def test_sample_sizes_at_their_limits(seqlm, trained_lm, option, value, needle):
    code, _, err = seqlm("sample", str(trained_lm), option, value)
    assert_one_line_error(code, err, ["sample"], needle)


def special_files(tmp_path) -> dict[str, str]:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("text\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return {"folder": str(folder), "FIFO": str(fifo), "device": "/dev/zero"}


@pytest.mark.parametrize("kind,needle", [("folder", "is a folder, not a file"),
                                         ("FIFO", "is not a regular file"),
                                         ("device", "is not a regular file")])
def test_eval_text_file_that_is_not_a_file(seqlm, tmp_path, trained_lm, kind, needle):
    path = special_files(tmp_path)[kind]
    code, _, err = seqlm("eval", str(trained_lm), "--text-file", path)
    assert_one_line_error(code, err, ["eval"], needle)


@pytest.mark.parametrize("kind", ["FIFO", "device"])
@pytest.mark.parametrize("command", [["data", "show"], ["train", *TINY_LM[4:]]])
def test_a_corpus_that_is_a_fifo_or_device_is_not_read(seqlm, tmp_path, kind, command):
    path = special_files(tmp_path)[kind]
    code, _, err = seqlm(*command, "--corpus", f"file:{path}")
    assert_one_line_error(code, err, command[:2] if command[0] == "data" else command[:1],
                          "is not a regular file")


@pytest.mark.parametrize("path,needle", [("folder", "is a folder, not a file"),
                                         ("FIFO", "is not a regular file"),
                                         ("missing", "does not exist")])
def test_a_config_file_that_is_not_a_file(seqlm, tmp_path, path, needle):
    files = {**special_files(tmp_path), "missing": str(tmp_path / "none.json")}
    code, _, err = seqlm("train", "--config", files[path])
    assert_one_line_error(code, err, ["train"], needle)


def test_a_checkpoint_given_as_config_is_named_a_checkpoint(seqlm, trained_lm):
    code, _, err = seqlm("train", "--config", str(trained_lm / "best.pt"))
    assert_one_line_error(code, err, ["train"], "is a checkpoint, not a config file")


def test_tensorboard_naming_a_file(seqlm, tmp_path):
    (tmp_path / "tb").write_text("mine")
    before = snapshot(tmp_path)
    code, _, err = seqlm("train", *TINY_LM, "--tensorboard", "tb", "--out", "r")
    assert_one_line_error(code, err, ["train"], "--tensorboard tb is a file, not a folder")
    assert snapshot(tmp_path) == before


def test_accumulate_too_large_names_accumulate(seqlm):
    code, _, err = seqlm("train", *TINY_LM, "--accumulate", "1000", "--out", "r")
    assert_one_line_error(code, err, ["train"], "lower --accumulate")


@pytest.mark.parametrize("corpus,option", [
    ("brackets", ["--plural"]), ("brackets", ["--encoding-errors", "replace"]),
    ("dates", ["--plural"]), ("verbs", ["--data-path", "x.txt"]),
    ("python-stdlib", ["--size", "10"]), ("python-stdlib", ["--plural"]),
    ("tinyshakespeare", ["--size", "10"]), ("tinyshakespeare", ["--include", "*.py"]),
])
def test_an_option_that_means_nothing_for_the_corpus_is_refused(seqlm, corpus, option):
    args = ["train", "--corpus", corpus, *option, "--max-steps", "1", "--out", "r"]
    code, _, err = seqlm(*args)
    assert_one_line_error(code, err, ["train"], f"means nothing for the {corpus} corpus")


def test_a_device_that_is_not_here_stops_the_lab_before_it_starts(seqlm, tmp_path):
    code, _, err = seqlm("lab", "--quick", "--steps", "by-hand", "--device", "cuda:7",
                         "--out", "lab")
    assert_one_line_error(code, err, ["lab"], "--device cuda:7")
    assert not (tmp_path / "lab").exists()


@pytest.mark.parametrize("command", [["sample", "RUN", "--length", "3"], ["eval", "RUN"]])
@pytest.mark.parametrize("device", ["tpu", "cuda:7", "nonsense:0"])
def test_a_device_that_is_not_here_is_one_line(seqlm, trained_lm, command, device):
    args = [str(trained_lm) if a == "RUN" else a for a in command]
    code, _, err = seqlm(*args, "--device", device)
    assert_one_line_error(code, err, command[:1], f"--device {device}")


@pytest.mark.parametrize("call", [
    lambda run: seqlm.load(run, device="tpu"),
    lambda run: seqlm.load(123),
    lambda run: seqlm.train("not a config"),
    lambda run: seqlm.load(run).score(42),
    lambda run: seqlm.load(run).generate(length=0),
])
def test_the_python_api_refuses_misuse_with_a_seqlm_error(trained_lm, call):
    with pytest.raises(SeqlmError):
        call(trained_lm)

"""Ctrl-C, budgets and resuming: an interrupted run says so (exit 130, manifest
"interrupted", checkpoint kept), the lab keeps a report of the steps it finished, the final
evaluation is bounded, and a run can be extended or resumed after its corpus file moved."""

import json
import shutil
import signal

from faults.conftest import TINY_LM, assert_one_line_error, spawn, wait_for

LONG = [*TINY_LM, "--max-steps", "100000"]  # the last --max-steps wins


def test_ctrl_c_during_training_exits_130_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = spawn("train", *LONG, "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "last.pt").exists())  # past the first evaluation
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["metrics"]["status"] == "interrupted"
    assert (out / "last.pt").exists()
    assert stdout.startswith("interrupted after") and "valid (last evaluation, step" in stdout


def test_an_interrupted_lab_keeps_the_report_of_the_steps_it_finished(tmp_path):
    out = tmp_path / "lab"
    proc = spawn("lab", "--quick", "--steps", "corpora", "by-hand", "vanishing", "--quiet",
                 "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "report.md").exists())
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), stderr  # 0 only if it finished before the signal
    assert "Traceback" not in stderr
    assert "## " in (out / "report.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == ("interrupted" if proc.returncode == 130 else "ok")


def test_the_final_evaluation_is_bounded(seqlm, tmp_path):
    code, out, err = seqlm("train", *TINY_LM, "--final-eval-max-tokens", "50", "--json",
                           "--out", "r")
    assert code == 0, err
    assert json.loads(out)["best_valid_full"]["tokens"] <= 50


def test_a_finished_run_can_be_extended_but_not_resumed_for_nothing(seqlm, tmp_path,
                                                                    trained_lm):
    ckpt = str(trained_lm / "last.pt")
    code, _, err = seqlm("train", "--resume", ckpt, "--out", "same")
    assert_one_line_error(code, err, ["train"], "raise --max-steps to train on")
    code, out, err = seqlm("train", "--resume", ckpt, "--max-steps", "6", "--json",
                           "--out", "more")
    assert code == 0, err
    assert json.loads(out)["steps"] == 6


def test_resume_finds_a_moved_corpus_file_by_its_checksum(seqlm, tmp_path):
    first = tmp_path / "a"
    first.mkdir()
    (first / "c.txt").write_text("the cat sat on the mat .\n" * 80)
    args = [a for a in TINY_LM]
    args[args.index("verbs")] = "file:c.txt"  # relative: stored as an absolute path
    del args[args.index("--size"):args.index("--size") + 2]  # a file has no size to choose
    code, _, err = seqlm("train", *args, "--out", "run", cwd=first)
    assert code == 0, err
    ckpt = str(first / "run" / "last.pt")
    elsewhere = tmp_path / "b"
    elsewhere.mkdir()
    code, _, err = seqlm("train", "--resume", ckpt, "--max-steps", "6", "--out", "r1",
                         cwd=elsewhere)
    assert code == 0, err  # the absolute path still finds the file
    shutil.move(first / "c.txt", elsewhere / "moved.txt")
    code, _, err = seqlm("train", "--resume", ckpt, "--max-steps", "6", "--out", "r2",
                         cwd=elsewhere)
    assert_one_line_error(code, err, ["train"], "pass --corpus file:NEWPATH")
    code, _, err = seqlm("train", "--resume", ckpt, "--max-steps", "6", "--corpus",
                         "file:moved.txt", "--out", "r3", cwd=elsewhere)
    assert code == 0, err
    (elsewhere / "other.txt").write_text("a different text entirely .\n" * 80)
    code, _, err = seqlm("train", "--resume", ckpt, "--max-steps", "6", "--corpus",
                         "file:other.txt", "--out", "r4", cwd=elsewhere)
    assert_one_line_error(code, err, ["train"], "sha256 mismatch")

"""`--overwrite` never trades a run for nothing, and a swap cut short is recovered (issue 23,
items 1-2). A run that replaces another is built in a staging folder and swapped in by
renames; here every way that can end is tried: a new run that diverges before its first
checkpoint, one that diverges after it, one interrupted before it, and a process killed
between the renames (simulated by the folders such a kill leaves)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from faults.conftest import TINY_LM, snapshot

DIVERGE = ["--lr", "1e30", "--optimizer", "sgd", "--max-steps", "30"]


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def old_run(seqlm, tmp_path):
    code, _, err = seqlm("train", *TINY_LM, "--out", "run")
    assert code == 0, err
    return tmp_path / "run"


def test_a_diverging_overwrite_before_any_checkpoint_keeps_the_old_run(seqlm, old_run):
    before = snapshot(old_run)
    code, _, err = seqlm("train", *TINY_LM, *DIVERGE, "--eval-every", "1000", "--overwrite",
                         "--out", "run")
    assert code == 2 and "diverged" in err and "no checkpoint had been written" in err
    assert "the previous run in run is kept as it was" in err
    assert snapshot(old_run) == before
    assert [p.name for p in old_run.parent.iterdir() if ".seqlm-" in p.name] == []


def test_a_diverging_overwrite_with_a_checkpoint_replaces_and_names_the_final_path(
        seqlm, old_run):
    code, _, err = seqlm("train", *TINY_LM, *DIVERGE, "--eval-every", "1", "--overwrite",
                         "--out", "run")
    assert code == 2 and "diverged" in err, err
    assert ".seqlm-new-" not in err  # the message names where the checkpoint is now
    manifest = json.loads((old_run / "manifest.json").read_text())
    assert manifest["status"] == "diverged" and (old_run / "best.pt").exists()


def test_an_interrupted_overwrite_before_any_checkpoint_keeps_the_old_run(
        seqlm, old_run, monkeypatch):
    from seqlm.training.engine import Engine

    before = snapshot(old_run)

    def interrupted(self, progress=None, should_stop=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Engine, "run", interrupted)
    code, _, err = seqlm("train", *TINY_LM, "--overwrite", "--out", "run")
    assert code == 130 and "Traceback" not in err
    assert snapshot(old_run) == before


def test_a_swap_killed_between_its_renames_is_restored(seqlm, old_run):
    before = snapshot(old_run)
    pid = dead_pid()
    moved = old_run.parent / f".run.seqlm-old-{pid}"
    os.rename(old_run, moved)  # the first rename happened, the process died
    shutil.copytree(moved, old_run.parent / f".run.seqlm-new-{pid}")  # its staging folder
    code, _, err = seqlm("train", *TINY_LM, "--out", "other")
    assert code == 0
    code, _, err = seqlm("train", *TINY_LM, "--max-steps", "100", "--out", "run")
    assert "restored the run in run" in err
    assert code == 2 and "exists and is not empty" in err  # restored, so not replaced
    assert snapshot(old_run) == before
    assert [p.name for p in old_run.parent.iterdir() if ".seqlm-" in p.name] == []


def test_an_old_copy_beside_a_new_run_is_named_never_deleted(seqlm, old_run):
    pid = dead_pid()
    kept = old_run.parent / f".run.seqlm-old-{pid}"
    shutil.copytree(old_run, kept)  # both renames happened, the deletion did not
    trash = old_run.parent / f".run.seqlm-trash-{dead_pid()}"
    shutil.copytree(old_run, trash)
    code, _, err = seqlm("train", *TINY_LM, "--overwrite", "--out", "run")
    assert code == 0
    assert f"left an earlier run at {kept.name}" in err
    assert kept.is_dir() and not trash.exists()


def test_an_empty_out_is_refused(seqlm, tmp_path):
    before = snapshot(tmp_path)
    code, _, err = seqlm("train", *TINY_LM, "--out", "")
    assert code == 2 and "--out is empty" in err
    assert snapshot(tmp_path) == before

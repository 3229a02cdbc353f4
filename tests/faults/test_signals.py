"""SIGINT and SIGTERM, case by case (issue 23): every command that trains or runs long stops
at a safe point when either signal arrives, exits 128 + the signal (130, 143), writes its
manifest as "interrupted" with the reason, keeps its checkpoint, and leaves no lock, staging
folder or spill folder behind. The processes are real (`python -m seqlm` in a subprocess):
signals are delivered to them exactly as a terminal, `timeout` or a scheduler would, and the
handlers are installed even when the parent ignored SIGINT (as a shell does for `&` jobs)."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faults.conftest import TINY_LM, spawn, wait_for

LONG = [*TINY_LM, "--max-steps", "100000"]  # the last --max-steps wins
S2S = ["seq2seq", "train", "--size", "200", "--max-steps", "100000", "--eval-every", "3",
       "--eval-size", "8", "--hidden-size", "8", "--embedding-dim", "8", "--batch-size", "8",
       "--quiet"]
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]


def leftovers(folder: Path) -> list[str]:
    """Locks, staging folders, old copies and temporary files beside or inside `folder`."""
    hidden = [p.name for p in folder.parent.iterdir() if ".seqlm-" in p.name]
    temporary = [p.name for p in folder.rglob("*") if p.name.startswith(".") or
                 p.name.endswith(".tmp")] if folder.exists() else []
    return hidden + temporary


def stop(proc: subprocess.Popen, signum: int) -> tuple[str, str]:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err, err
    return out, err


def interrupted_manifest(out: Path) -> dict:
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted", manifest["status"]
    return manifest


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_training_stops_at_the_next_step_with_its_checkpoint(tmp_path, signum):
    out = tmp_path / "run"
    proc = spawn("train", *LONG, "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "last.pt").exists(), proc)
    stdout, _ = stop(proc, signum)
    assert stdout.startswith("interrupted after")
    interrupted_manifest(out)
    assert (out / "last.pt").exists() and (out / "best.pt").exists()
    assert leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_seq2seq_training_stops_with_its_checkpoint(tmp_path, signum):
    out = tmp_path / "run"
    proc = spawn(*S2S, "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "last.pt").exists(), proc)
    stop(proc, signum)
    interrupted_manifest(out)
    assert (out / "last.pt").exists()
    assert leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_a_second_signal_stops_training_at_once(tmp_path, signum):
    out = tmp_path / "run"
    proc = spawn("train", *LONG, "--eval-every", "1000", "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "manifest.json").exists(), proc)
    time.sleep(1.0)
    proc.send_signal(signum)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signum and "Traceback" not in err, err
    assert leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_the_lab_stops_with_the_page_of_the_steps_done(tmp_path, signum):
    out = tmp_path / "lab"
    proc = spawn("lab", "--quick", "--steps", "corpora", "by-hand", "vanishing", "structure",
                 "--quiet", "--out", str(out), cwd=tmp_path)
    wait_for(lambda: (out / "report.md").exists(), proc)  # the first step is done
    stdout, _ = stop(proc, signum)
    manifest = interrupted_manifest(out)
    assert (out / "report.html").exists() and "## " in (out / "report.md").read_text()
    assert len(manifest["sections"]) >= 1
    if signum == signal.SIGINT:  # the step under way finished, the rest were not run
        assert manifest["steps_not_run"] and "steps not run" in stdout
    assert leftovers(out) == []


@pytest.mark.slow
def test_the_lab_stops_even_when_its_parent_ignored_sigint(tmp_path):
    """A shell starts `seqlm lab &` with SIGINT ignored; `kill -INT` must still stop it."""
    out = tmp_path / "lab"
    proc = spawn("lab", "--quick", "--steps", "corpora", "by-hand", "vanishing", "--quiet",
                 "--out", str(out), cwd=tmp_path, ignore_sigint=True)
    wait_for(lambda: (out / "report.md").exists(), proc)
    stop(proc, signal.SIGINT)
    interrupted_manifest(out)


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_bounded_memory_ngram_training_removes_its_spill_folder(tmp_path, signum):
    text = tmp_path / "big.txt"
    words = [f"w{i % 5000} v{(i * 7) % 3001}" for i in range(1_200_000)]
    text.write_text("\n".join(" ".join(words[i:i + 12]) for i in range(0, len(words), 12)))
    spill = tmp_path / "spill"
    spill.mkdir()
    proc = spawn("ngram", "train", "--text-file", str(text), "--unit", "word", "--order",
                 "5", "--memory", "8M", "--temp-dir", str(spill), "--engine", "numpy",
                 "--quiet", "--out", str(tmp_path / "ng"), cwd=tmp_path)
    # the signal lands once the run has spilled (a file under its private folder), with most
    # of the counting, merging and writing still ahead, however fast the machine
    wait_for(lambda: any(p.is_file() for p in spill.rglob("*")), proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signum and "Traceback" not in err, err
    assert list(spill.iterdir()) == []  # the private spill folder is gone
    assert leftovers(tmp_path / "ng") == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, "Terminated"])
@pytest.mark.parametrize("writer", ["checkpoint", "manifest", "text"])
def test_a_signal_mid_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, interrupt,
                                                                       writer):
    """A signal raised inside a write (between two chunks) leaves the file as it was."""
    import torch

    from seqlm import atomic
    from seqlm.checkpoint import save_checkpoint
    from seqlm.cli.signals import Terminated

    error = Terminated if interrupt == "Terminated" else interrupt
    target = tmp_path / "file"
    target.write_bytes(b"the old contents")
    real = atomic.os.fsync

    def cut(fd):  # the data is written, not yet synced or renamed into place
        raise error()

    writes = {
        "checkpoint": lambda: save_checkpoint(target, "lm", {"model": {"w": torch.ones(4)}}),
        "manifest": lambda: atomic.atomic_write_json(target, {"status": "ok"}),
        "text": lambda: atomic.atomic_write_text(target, "new " * 10_000),
    }
    atomic.os.fsync = cut
    try:
        with pytest.raises(KeyboardInterrupt):
            writes[writer]()
    finally:
        atomic.os.fsync = real
    assert target.read_bytes() == b"the old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]

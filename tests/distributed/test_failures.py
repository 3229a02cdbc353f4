"""What goes wrong with several processes ends the job with one line, never a hang: a world
too large for the text is refused before any process trains, a killed process stops the
others at once and a hung one within the timeout, with a message naming the checkpoint."""

import json
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.slow

SMALL = ["train", "--corpus", "verbs", "--size", "400", "--cell", "gru", "--unit", "word",
         "--embedding-dim", "12", "--hidden-size", "16", "--num-layers", "1", "--window", "6",
         "--threads", "1", "--device", "cpu", "--quiet"]


def finish(processes: list[subprocess.Popen], timeout: float) -> list[tuple[int, str]]:
    """(exit code, stderr) of each process, waiting at most `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    out = []
    for p in processes:
        try:
            _, err = p.communicate(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            pytest.fail(f"a process still ran after {timeout} s: {err[-2000:]}")
        out.append((p.returncode, err))
    return out


def wait_for_checkpoint(ranks: list[subprocess.Popen], out, timeout: float = 120) -> None:
    """Until rank 0 has trained and written a checkpoint."""
    deadline = time.monotonic() + timeout
    while not (out / "last.pt").is_file():
        assert all(p.poll() is None for p in ranks), finish(ranks, 5)
        assert time.monotonic() < deadline, f"no checkpoint within {timeout} s"
        time.sleep(0.2)


def test_a_world_too_large_for_the_text_is_refused_before_training(tmp_path, run_torchrun):
    # 3,842 training tokens: one process of 200 streams of 11 fits, two do not
    done = run_torchrun(*SMALL, "--batch-size", "200", "--window", "10", "--max-steps", "5",
                        "--out", str(tmp_path / "big"))
    assert done.returncode != 0
    # one line from each process (the two may interleave on the shared stderr)
    assert done.stderr.count("seqlm: error: the train split has 3842 tokens, too few for 2 "
                             "processes x batch size 200 x window 10") == 2, done.stderr[-3000:]
    assert "[rank0]" not in done.stderr and "[rank1]" not in done.stderr  # no worker traceback
    assert not (tmp_path / "big").exists()


def test_a_killed_process_ends_the_job_with_a_clear_error(tmp_path, launch_ranks):
    out = tmp_path / "run"
    ranks = launch_ranks(*SMALL, "--batch-size", "4", "--max-steps", "1000000",
                         "--eval-every", "5", "--eval-max-tokens", "100", "--out", str(out))
    wait_for_checkpoint(ranks, out)
    killed = time.monotonic()
    ranks[1].send_signal(signal.SIGKILL)
    (code, err), _ = finish(ranks, timeout=30)  # the timeout is 300 s: a death is seen at once
    assert time.monotonic() - killed < 30
    assert code == 2, err[-3000:]
    line = err.strip().splitlines()[-1]
    assert line.startswith("seqlm: error: process 0 of 2 lost the others while "), line
    assert f"the last checkpoint is {out / 'last.pt'}: go on with --resume {out}" in line
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "lost the others" in manifest["error"]


def test_a_hung_process_ends_the_job_within_the_timeout(tmp_path, launch_ranks):
    out = tmp_path / "run"
    ranks = launch_ranks(*SMALL, "--distributed-timeout", "3", "--batch-size", "4",
                         "--max-steps", "1000000", "--eval-every", "5", "--eval-max-tokens",
                         "100", "--out", str(out))
    wait_for_checkpoint(ranks, out)
    stopped = time.monotonic()
    ranks[1].send_signal(signal.SIGSTOP)  # alive, but answering nothing
    try:
        code, err = finish(ranks[:1], timeout=30)[0]
        assert time.monotonic() - stopped < 30
    finally:
        ranks[1].kill()
        ranks[1].communicate()
    assert code == 2, err[-3000:]
    assert "did not answer within 3 s (--distributed-timeout)" in err.strip().splitlines()[-1]


@pytest.mark.parametrize("which", [0, 1])
def test_a_terminated_process_stops_every_rank_at_one_step(tmp_path, launch_ranks, which):
    """SIGTERM (a scheduler's stop) to one rank: every rank stops at the same step, rank 0
    writes the manifest ("interrupted") and keeps the checkpoint; no rank hangs or prints a
    traceback."""
    out = tmp_path / "run"
    ranks = launch_ranks(*SMALL, "--batch-size", "4", "--max-steps", "1000000",
                         "--eval-every", "5", "--eval-max-tokens", "100", "--out", str(out))
    wait_for_checkpoint(ranks, out)
    ranks[which].send_signal(signal.SIGTERM)
    done = finish(ranks, timeout=60)
    assert done[which][0] == 143, done[which][1][-2000:]
    assert all(code in (130, 143) for code, _ in done), [c for c, _ in done]
    assert all("Traceback" not in err for _, err in done)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and (out / "last.pt").is_file()

"""Starting several seqlm training processes on the CPU (gloo): through torchrun, as a user
does, or one by one with torchrun's environment when a test must reach a single rank."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import seqlm

SRC = Path(seqlm.__file__).resolve().parent.parent


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", **extra}


def torchrun(*args: str, nproc: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=NPROC -m seqlm ARGS` (a free port of its own)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", "-m", "seqlm", *args]
    return subprocess.run(command, env=environment(), capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*args: str, size: int = 2) -> list[subprocess.Popen]:
    """`python -m seqlm ARGS` once per rank, each with torchrun's variables set."""
    port = str(free_port())
    return [subprocess.Popen(
        [sys.executable, "-m", "seqlm", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=environment(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(size),
                                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port))
        for rank in range(size)]


@pytest.fixture(scope="session")
def run_torchrun():
    return torchrun


@pytest.fixture(scope="session")
def launch_ranks():
    return launch

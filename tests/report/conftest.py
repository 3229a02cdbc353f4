"""The quick lab, run once per test session for the tests that look at its page."""

import os
from pathlib import Path

import pytest

from seqlm.config import LabConfig


@pytest.fixture(scope="session")
def quick_lab(tmp_path_factory) -> Path:
    """`seqlm lab --quick` into a temporary run directory (~30 s on 2 cores)."""
    from seqlm.lab.steps import run_lab

    out = tmp_path_factory.mktemp("lab") / "quick"
    run = run_lab(LabConfig(quick=True, out=str(out), data_dir=os.environ.get("SEQLM_DATA_DIR")),
                  argv=["seqlm", "lab", "--quick", "--out", str(out)])
    return run.path

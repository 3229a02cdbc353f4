"""GPU checks: skipped where torch sees no CUDA device (CI has none); run on a GPU machine
with `bash benchmarks/gpu_check.sh`."""

import os

import pytest
import torch

# cuBLAS is deterministic only with a fixed workspace; set before CUDA starts
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device here: run benchmarks/gpu_check.sh on a GPU")
    for item in items:
        if "tests/gpu/" in str(item.fspath):
            item.add_marker(skip)

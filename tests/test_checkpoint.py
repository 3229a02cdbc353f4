"""Checkpoints round-trip on CPU, are written atomically, and refuse what is not theirs."""

import random

import numpy as np
import pytest
import torch

from seqlm.checkpoint import VERSION, read_checkpoint, save_checkpoint
from seqlm.errors import SeqlmError


def _payload():
    model = torch.nn.Linear(3, 2)
    return {
        "config": {"model": {"cell": "lstm", "hidden": 8}, "dims": [1, 2]},
        "model": model.state_dict(),
        "step": 7,
        "rng": {"torch": torch.get_rng_state(),
                "numpy": np.random.default_rng(3).bit_generator.state,
                "python": random.Random(4).getstate()},
        "data": {"window": 3},
    }


def test_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", "lm", _payload())
    back = read_checkpoint(path, "lm", required=("model", "step"))
    assert back["step"] == 7 and back["kind"] == "lm" and back["version"] == VERSION
    assert set(back["model"]) == {"weight", "bias"}
    rng = np.random.default_rng()
    rng.bit_generator.state = back["rng"]["numpy"]
    assert rng.random() == np.random.default_rng(3).random()
    r = random.Random()
    r.setstate(back["rng"]["python"])
    assert r.random() == random.Random(4).random()
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file is gone


def test_wrong_kind(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", "seq2seq", {"step": 1})
    with pytest.raises(SeqlmError, match="holds a 'seq2seq' model"):
        read_checkpoint(path, "lm")


def test_corrupted_file(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", "lm", _payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SeqlmError, match=r"c\.pt cannot be read"):
        read_checkpoint(path, "lm")
    path.write_bytes(b"hello, not a checkpoint")
    with pytest.raises(SeqlmError, match="cannot be read"):
        read_checkpoint(path, "lm")


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(SeqlmError, match="not a seqlm checkpoint"):
        read_checkpoint(path, "lm")


def test_missing_file_and_keys(tmp_path):
    with pytest.raises(SeqlmError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.pt", "lm")
    path = save_checkpoint(tmp_path / "c.pt", "lm", {"step": 1})
    with pytest.raises(SeqlmError, match="lacks model"):
        read_checkpoint(path, "lm", required=("model",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "seqlm-checkpoint", "version": 1, "kind": "lm", "obj": _Obj()}, path)
    with pytest.raises(SeqlmError, match="cannot be read"):
        read_checkpoint(path, "lm")


class _Obj:
    pass


def test_failed_write_keeps_previous(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", "lm", {"step": 1})
    with pytest.raises(Exception):  # noqa: B017 - torch cannot pickle a lambda
        save_checkpoint(path, "lm", {"step": 2, "bad": lambda: 0})
    assert read_checkpoint(path, "lm")["step"] == 1

"""--precision bf16 on the CPU: the fused recurrences take bf16 products where the CPU has bf16
kernels, and where it has none (the probe monkeypatched) the run falls back to fp32 with a
one-line note, recorded in the manifest."""

import json

import pytest
import torch

from seqlm.config import CorpusConfig, EngineConfig, LMConfig, ScheduleConfig, TrainConfig
from seqlm.nn.fast.matmul import autocast_products
from seqlm.runs.lm import run_train
from seqlm.training import devices
from seqlm.training.devices import CPU_BF16_FALLBACK, Placement


def test_bf16_on_a_cpu_with_bf16_kernels_runs_bf16_products(monkeypatch):
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: True)
    placement = Placement.resolve("cpu", "bf16")
    assert (placement.precision, placement.note) == ("bf16", "")
    assert "note" not in placement.describe()
    with placement.autocast():
        assert autocast_products(placement.device) == torch.bfloat16
    assert autocast_products(placement.device) is None


def test_bf16_on_a_cpu_without_falls_back_to_fp32_with_a_note(monkeypatch):
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: False)
    with pytest.warns(UserWarning, match="no native bf16 kernels .* running fp32"):
        placement = Placement.resolve("cpu", "bf16")
    assert placement.precision == "fp32"
    assert placement.describe()["note"] == CPU_BF16_FALLBACK
    assert "\n" not in CPU_BF16_FALLBACK
    with placement.autocast():  # no autocast at all: fp32 products
        assert autocast_products(placement.device) is None
    assert Placement.resolve("cpu", "fp32").note == ""


def test_a_fallback_run_trains_in_fp32_and_records_the_note(monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: False)
    config = TrainConfig(
        corpus=CorpusConfig(name="verbs", size=400),
        model=LMConfig(unit="word", embedding_dim=8, hidden_size=8, num_layers=1, dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=1e-2, warmup_steps=1), max_steps=2,
                            eval_every=100, threads=1, device="cpu", precision="bf16"),
        batch_size=4, window=8)
    with pytest.warns(UserWarning, match="running fp32"):
        result = run_train(config, out=tmp_path / "run")
    placement = json.loads((result.path / "manifest.json").read_text())["placement"]
    assert (placement["precision"], placement["note"]) == ("fp32", CPU_BF16_FALLBACK)

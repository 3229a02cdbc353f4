import json
import os
import platform

import pytest

from seqlm.config import CorpusConfig
from seqlm.errors import SeqlmError
from seqlm.runs.environment import platform_name
from seqlm.runs.run import MANIFEST, Run


def test_manifest_has_the_promised_fields(tmp_path):
    cfg = CorpusConfig(name="verbs", seed=7)
    with Run("demo", cfg, out=tmp_path / "run", argv=["seqlm", "demo"]) as run:
        run.metrics["loss"] = 1.5
        run.data["verbs"] = {"sha256": "abc"}
        with run.timer("work"):
            pass
        run.artifact("plot", "plots/a.png").write_bytes(b"png")
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["status"] == "ok" and manifest["seed"] == 7
    assert manifest["argv"] == ["seqlm", "demo"]
    assert manifest["config"]["name"] == "verbs"
    assert manifest["metrics"] == {"loss": 1.5}
    assert manifest["artifacts"] == {"plot": "plots/a.png"}
    assert "work" in manifest["timings"]
    env = manifest["environment"]
    for key in ("seqlm", "git_commit", "python", "numpy", "torch", "cpu", "cpu_count"):
        assert key in env
    assert env["numpy"]
    assert env["platform"] == platform.platform()  # the quick reading names the same system


def test_platform_name_falls_back_to_platform_off_glibc(monkeypatch):
    monkeypatch.setattr(os, "confstr", lambda name: "musl 1.2", raising=False)
    assert platform_name() == platform.platform()


def test_existing_run_directory_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(SeqlmError, match="--overwrite"), Run("demo", None, out=out):
        pass
    assert (out / "keep.txt").read_text() == "precious"
    # --overwrite replaces only what seqlm wrote: a folder of the user's is never touched
    with pytest.raises(SeqlmError, match="seqlm did not write"), \
            Run("demo", None, out=out, overwrite=True):
        pass
    assert (out / "keep.txt").read_text() == "precious"
    seqlm_run = tmp_path / "old"
    with Run("demo", None, out=seqlm_run) as run:
        run.artifact("ckpt").write_bytes(b"old weights")
    with Run("demo", None, out=seqlm_run, overwrite=True) as run:
        assert (seqlm_run / "ckpt").read_bytes() == b"old weights"  # kept until the swap
    assert not (seqlm_run / "ckpt").exists() and (seqlm_run / MANIFEST).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_input_leaves_nothing_but_a_crash_keeps_the_run(tmp_path):
    with pytest.raises(SeqlmError), Run("demo", None, out=tmp_path / "bad"):
        raise SeqlmError("bad input")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(RuntimeError), Run("demo", None, out=tmp_path / "crash") as run:
        run.artifact("ckpt").write_bytes(b"weights")
        raise RuntimeError("boom")
    manifest = json.loads((tmp_path / "crash" / MANIFEST).read_text())
    assert manifest["status"] == "failed" and "boom" in manifest["error"]
    assert (tmp_path / "crash" / "ckpt").read_bytes() == b"weights"


def test_lab_tries_an_unavailable_corpus_once(tmp_path, monkeypatch):
    from seqlm.config import LabConfig
    from seqlm.lab import steps as lab

    calls = []

    def offline(cfg, progress=None):
        calls.append(cfg.name)
        raise SeqlmError("offline")

    monkeypatch.setattr(lab, "load_corpus", offline)
    ctx = lab.LabContext(run=Run("lab", None, out=tmp_path / "r"), config=LabConfig())
    for _ in range(3):
        with pytest.raises(SeqlmError, match="offline"):
            ctx.corpus("tinyshakespeare")
    assert calls == ["tinyshakespeare"]

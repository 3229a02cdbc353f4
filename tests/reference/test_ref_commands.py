"""`seqlm by-hand`, `seqlm vanishing` and their lab steps, end to end."""

import json

import pytest

from conftest import run_cli
from seqlm.config import VanishingConfig
from seqlm.errors import SeqlmError
from seqlm.lab.vanishing import measure

FAST = ("--steps", "5", "--quiet")


@pytest.mark.slow
def test_by_hand_predicts_works_after_he(tmp_path):
    """Seeded: a GRU trained for 400 updates on the chains carries "work" to "he works"."""
    out = tmp_path / "bh"
    result = run_cli("by-hand", "--cell", "gru", "--steps", "400", "--seed", "0", "--out",
                     str(out), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["next_token"] == "works"
    walk = payload["walk"]
    assert [s["token"] for s in walk] == ["i", "work", ",", "you", "work", ",", "he"]
    assert set(walk[-1]["vectors"]) == {"r", "z", "n"} and len(walk[-1]["top"]) == 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["metrics"]["training"]["steps"] == 400

    # the saved weights walk another prompt without training
    again = run_cli("by-hand", "--load", str(out / "model.npz"), "--prompt", "i go , you go ,",
                    "--sample", "12", "--temperature", "0.5", "--out", str(tmp_path / "again"),
                    "--json", "--quiet")
    assert again.returncode == 0, again.stderr
    again_payload = json.loads(again.stdout)
    assert again_payload["training"] == {} and again_payload["walk"][-1]["token"] == ","
    assert len(again_payload["sample"].split()) == 12


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_by_hand_default_settings_rank_works_first_for_every_cell(tmp_path, cell):
    """The README's canonical example, with the defaults: a fixed number of updates from a
    seed, so the same command prints the same states and top-5 twice. (A subprocess, as a
    user runs it: NumPy on one BLAS thread, which the command sets before NumPy loads.)"""
    outputs = []
    for attempt in range(2 if cell == "gru" else 1):
        result = run_cli("by-hand", "--cell", cell, "--quiet", "--out",
                         str(tmp_path / f"r{attempt}"), env={"OPENBLAS_NUM_THREADS": "1"})
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        outputs.append([line for line in lines if not line.startswith("run directory")])
    assert "next after 'he': 'works'" in outputs[0]
    assert all(o == outputs[0] for o in outputs)


def test_by_hand_lstm_shows_cell_state_and_gates(tmp_path):
    result = run_cli("by-hand", "--cell", "lstm", *FAST, "--out", str(tmp_path / "r"), "--json")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)["walk"][0]["vectors"]) == {"c", "i", "f", "g", "o"}


@pytest.mark.parametrize("args, message", [
    (("--prompt", "  "), "prompt is empty"),
    (("--prompt", "i work , you zorgle , he blorp"), "'zorgle', 'blorp'"),
    (("--window", "100000"), "too few"),
    (("--cell", "rnn", "--load", "missing.npz"), "does not exist"),
    (("--sample", "5", "--temperature", "0"), "--temperature 0 is out of range"),
])
def test_by_hand_bad_input_is_a_clear_error(tmp_path, args, message):
    out = tmp_path / "r"
    result = run_cli("by-hand", *FAST, "--out", str(out), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # bad input leaves no run directory behind


def test_vanishing_writes_plots_numbers_and_a_statement(tmp_path):
    out = tmp_path / "v"
    result = run_cli("vanishing", "--examples", "2", "--train-steps", "3", "--max-k", "20",
                     "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = manifest["metrics"]
    assert set(metrics["analytic"]["radii"]) == {"0.5", "0.9", "1.0", "1.1", "1.5"}
    assert set(metrics["empirical"]["cells"]) == {"rnn", "lstm", "gru"}
    for name in ("analytic.png", "empirical.png", "timing.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert "The serial computation" in metrics["statement"]
    assert "decay of ||dL_T/dh_k||" in result.stdout


def test_vanishing_refuses_short_distances(tmp_path):
    result = run_cli("vanishing", "--distance", "10", "--out", str(tmp_path / "v"))
    assert result.returncode == 2 and "50 or more" in result.stderr


def test_vanishing_numbers_say_what_the_statement_says():
    config = VanishingConfig(examples=2, train_steps=2, max_k=30, timing_lengths=(10, 20, 40),
                             timing_repeats=1)
    results = measure(config)
    radii = results["analytic"]["radii"]
    assert radii["0.5"]["rate_fixed_point"] < 1 < radii["1.5"]["rate_fixed_point"]
    assert max(radii["1.5"]["clipped"]) <= config.clip_norm
    for cell in results["empirical"]["cells"].values():
        assert len(cell["init"]) >= config.distance + 1
        assert 0 < cell["rate_init"] < 1  # at initialisation every cell's gradient decays
    assert f"x{radii['0.9']['rate_fixed_point']:.3f}" in results["statement"]
    assert len(results["timing"]["forward_s"]) == 3 and min(results["timing"]["forward_s"]) > 0
    with pytest.raises(SeqlmError, match="50 or more"):
        measure(VanishingConfig(distance=3))


@pytest.mark.slow
def test_lab_runs_both_steps_into_its_report(tmp_path):
    out = tmp_path / "lab"
    # `seqlm lab` does not limit BLAS threads itself (by-hand and vanishing do): without this,
    # a busy second core makes OpenBLAS spin and the steps run ~10x slower
    result = run_cli("lab", "--quick", "--steps", "by-hand", "vanishing", "--out", str(out),
                     "--quiet", env={"OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text()
    assert "| # | token |" in report and "The gradient path" in report
    assert (out / "vanishing" / "empirical.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["metrics"]["by-hand"]["next_token"] == "works"

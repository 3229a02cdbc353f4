"""Checkpoints and manifests that cannot be trusted are refused in one line (issue 23, items
6, 7, 11): non-finite weights are never written and never loaded, a step counter or optimiser
state that does not fit its model is named on resume, a truncated or bit-flipped file is
damaged, and a manifest whose fields were edited into other types is refused by the report.
Each case class runs over several members (tensors, fields, offsets)."""

import json
import shutil

import pytest
import torch

from faults.conftest import assert_one_line_error


def edited(src, dst, change) -> str:
    payload = torch.load(src, map_location="cpu", weights_only=True)
    change(payload)
    torch.save(payload, dst)
    return str(dst)


def first_tensors(path, n=3) -> list[str]:
    return list(torch.load(path, map_location="cpu", weights_only=True)["model"])[:n]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("which", [0, 1, -1])
def test_a_checkpoint_with_non_finite_weights_is_refused(seqlm, tmp_path, trained_lm, value,
                                                         which):
    names = list(torch.load(trained_lm / "best.pt", weights_only=True)["model"])
    name = names[which]

    def poison(p):
        p["model"][name].view(-1)[0] = value

    bad = edited(trained_lm / "best.pt", tmp_path / "bad.pt", poison)
    for command in (["sample", bad, "--length", "5"], ["eval", bad]):
        code, _, err = seqlm(*command)
        assert_one_line_error(code, err, command[:1], "NaN or infinite weights")


def test_non_finite_weights_are_never_saved(tmp_path):
    from seqlm.checkpoint import NonFiniteWeightsError, save_checkpoint

    with pytest.raises(NonFiniteWeightsError):
        save_checkpoint(tmp_path / "x.pt", "lm", {"model": {"w": torch.tensor([1.0, float(
            "nan")])}})
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("step", [-5, 2.5, "7", True])
def test_an_impossible_step_counter_is_refused(seqlm, tmp_path, trained_lm, step):
    bad = edited(trained_lm / "last.pt", tmp_path / "last.pt", lambda p: p.update(step=step))
    code, _, err = seqlm("sample", bad, "--length", "5")
    assert_one_line_error(code, err, ["sample"], "not a count of updates")


@pytest.mark.parametrize("field,value", [("step", -3), ("step", 1.5), ("best_step", 10**6),
                                         ("seconds", -1.0), ("evals_since_best", -1)])
def test_an_impossible_training_position_is_refused_on_resume(seqlm, tmp_path, trained_lm,
                                                              field, value):
    run = tmp_path / "copy"
    shutil.copytree(trained_lm, run)
    edited(trained_lm / "last.pt", run / "last.pt",
           lambda p: p["training"]["position"].update({field: value}))
    code, _, err = seqlm("train", "--resume", str(run), "--max-steps", "100", "--out", "more")
    assert_one_line_error(code, err, ["train"], "position is impossible")


def test_optimizer_state_of_another_shape_is_refused_on_resume(seqlm, tmp_path, trained_lm):
    run = tmp_path / "copy"
    shutil.copytree(trained_lm, run)

    def reshape(p):
        state = p["training"]["optimizer"]["state"]
        key = next(iter(state))
        state[key]["exp_avg"] = torch.zeros(3, 3)

    edited(trained_lm / "last.pt", run / "last.pt", reshape)
    code, _, err = seqlm("train", "--resume", str(run), "--max-steps", "8", "--out", "more")
    assert_one_line_error(code, err, ["train"], "optimizer state exp_avg")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_a_truncated_checkpoint_is_damaged(seqlm, tmp_path, trained_lm, cut):
    data = (trained_lm / "best.pt").read_bytes()
    bad = tmp_path / "cut.pt"
    bad.write_bytes(data[:int(len(data) * cut)])
    code, _, err = seqlm("sample", str(bad), "--length", "5")
    assert_one_line_error(code, err, ["sample"], "cannot be read")


@pytest.mark.parametrize("key,value", [("metrics", "oops"), ("timings", [1, 2]),
                                       ("config", 5), ("argv", "seqlm"), ("artifacts", 3),
                                       ("environment", None)])
def test_a_manifest_with_a_wrong_type_is_refused_by_the_report(seqlm, tmp_path, trained_lm,
                                                               key, value):
    run = tmp_path / "copy"
    shutil.copytree(trained_lm, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest[key] = value
    (run / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = seqlm("report", str(run))
    assert_one_line_error(code, err, ["report"], "damaged")


@pytest.mark.parametrize("path,value", [(("metrics", "history"), "oops"),
                                        (("metrics", "evals"), 3),
                                        (("metrics", "final_valid"), [1]),
                                        (("config", "model"), "lstm")])
def test_a_manifest_with_a_mangled_inner_field_is_refused_by_the_report(
        seqlm, tmp_path, trained_lm, path, value):
    run = tmp_path / "copy"
    shutil.copytree(trained_lm, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest[path[0]][path[1]] = value
    (run / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = seqlm("report", str(run))
    if code == 0:  # a field the page does not read: the page is still right
        return
    assert_one_line_error(code, err, ["report"], "")


def flipped(data: bytes, where: float, bit: int) -> bytes:
    i = min(int(len(data) * where), len(data) - 1)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]


@pytest.mark.parametrize("where", [0.0, 0.01, 0.3, 0.6, 0.95, 0.999])
@pytest.mark.parametrize("bit", [0, 7])
def test_a_bit_flipped_checkpoint_is_refused_or_loads_finite(seqlm, tmp_path, trained_lm,
                                                             where, bit):
    """A flipped bit lands in the zip structure (damaged), in the pickle (damaged or not a
    seqlm checkpoint) or in a weight (still finite: it loads; NaN or inf: refused)."""
    bad = tmp_path / "flip.pt"
    bad.write_bytes(flipped((trained_lm / "best.pt").read_bytes(), where, bit))
    code, out, err = seqlm("sample", str(bad), "--length", "5")
    if code != 0:
        assert_one_line_error(code, err, ["sample"], "")


@pytest.mark.parametrize("where", [0.0, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_manifest_is_one_line_in_the_report(seqlm, tmp_path, trained_lm, where,
                                                      damage):
    run = tmp_path / "copy"
    shutil.copytree(trained_lm, run)
    data = (run / "manifest.json").read_bytes()
    data = data[:int(len(data) * where)] if damage == "truncated" else flipped(data, where, 6)
    (run / "manifest.json").write_bytes(data)
    code, _, err = seqlm("report", str(run))
    if code != 0:  # a flip inside a string may leave valid JSON and a valid page
        assert_one_line_error(code, err, ["report"], "")


@pytest.mark.parametrize("where", [0.0, 0.3, 0.7, 0.99])
@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_config_file_is_one_line(seqlm, tmp_path, where, damage):
    from conftest import REPO

    data = (REPO / "configs" / "tinyshakespeare-char.json").read_bytes()
    data = data[:int(len(data) * where)] if damage == "truncated" else flipped(data, where, 6)
    (tmp_path / "c.json").write_bytes(data)
    code, _, err = seqlm("train", "--config", "c.json", "--max-steps", "0")
    assert code == 2 and "Traceback" not in err, err

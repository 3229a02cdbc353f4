"""End to end through `python -m seqlm seq2seq ...` on a tiny budget."""

import json

import pytest

from conftest import run_cli

TINY = ["--size", "200", "--max-steps", "6", "--eval-every", "3", "--eval-size", "10",
        "--hidden-size", "8", "--embedding-dim", "8", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2s") / "run"
    result = run_cli("seq2seq", "train", *TINY, "--attention", "general", "--sampling",
                     "linear", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "exact match" in result.stdout
    return out


def test_train_writes_checkpoints_and_a_manifest(trained):
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["config"]["model"]["attention"] == "general"
    assert manifest["config"]["train"]["sampling"] == "linear"
    assert set(manifest["metrics"]["test"]) == {"plain", "long"}
    assert {"dates[plain]", "dates[long]"} <= set(manifest["data"])
    assert (trained / "best.pt").is_file() and (trained / "last.pt").is_file()


def test_resume_continues_the_same_run(trained, tmp_path):
    result = run_cli("seq2seq", "train", *TINY[:3], "9", *TINY[4:], "--attention", "general",
                     "--sampling", "linear", "--resume", str(trained), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["steps"] == 9


def test_translate_prints_one_line_per_source_and_draws_the_heatmap(trained, tmp_path):
    (tmp_path / "in.txt").write_text("March 14, 2024\n14.03.2024\n")
    result = run_cli("seq2seq", "translate", str(trained), "1 May 2000", "--input",
                     str(tmp_path / "in.txt"), "--beam-width", "2")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    heatmap = tmp_path / "h.png"
    result = run_cli("seq2seq", "translate", str(trained / "best.pt"), "March 14, 2024",
                     "--heatmap", str(heatmap), "--json")
    assert result.returncode == 0, result.stderr
    assert heatmap.read_bytes()[:4] == b"\x89PNG"


def test_translate_and_eval_with_beam(trained, tmp_path, capsys):
    from seqlm.cli import main  # in-process: the same `main` as the console script

    def cli(*args):
        assert main(["seq2seq", *args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    sources = ["March 14, 2024", "14.03.2024", "Ref 4471: meeting on 2 May 2001 in room 12"]
    out = {beam: cli("translate", str(trained), *sources, "--beam-width", beam)["translations"]
           for beam in ("1", "3")}
    assert [t["source"] for t in out["3"]] == sources
    greedy = cli("translate", str(trained), *sources)["translations"]
    assert greedy == out["1"]  # --beam-width 1 is greedy
    (tmp_path / "t.tsv").write_text("".join(f"{s}\t2024-03-14\n" for s in sources))
    scores = cli("eval", str(trained), "--tsv", str(tmp_path / "t.tsv"), "--beam-width", "3")
    exact = scores["scores"]["t.tsv"]["exact_match"]
    hits = sum(t["output"] == "2024-03-14" for t in out["3"])
    assert exact["n"] == 3 and exact["accuracy"] == pytest.approx(hits / 3)  # the same beam


def test_eval_scores_a_user_tsv(trained, tmp_path):
    (tmp_path / "t.tsv").write_text("March 14, 2024\t2024-03-14\n1 May 2000\t2000-05-01\n")
    result = run_cli("seq2seq", "eval", str(trained), "--tsv", str(tmp_path / "t.tsv"),
                     "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)["scores"]["t.tsv"]
    assert scores["exact_match"]["n"] == 2 and len(scores["by_length"]) == 1


@pytest.mark.parametrize("args, needle", [
    (["translate", "{run}", ""], "source 1 is empty"),
    (["translate", "{run}", "1" * 200], "more than the model's maximum"),
    (["translate", "{run}", "a", "b", "--heatmap", "x.png"], "--heatmap draws one source"),
    (["translate", "{run}/nope.pt", "a"], "does not exist"),
    (["translate", "{run}"], "nothing to translate"),
    (["translate", "{run}", "a", "--beam-width", "0"], "--beam-width 0 is out of range"),
    (["eval", "{run}", "--tsv", "{run}/manifest.json"], "has no TAB"),
])
def test_bad_input_exits_2_with_a_one_line_message(trained, args, needle, capsys):
    # in-process (the same `main` as the console script): a subprocess per case is slow
    from seqlm.cli import main

    assert main(["seq2seq", *[a.format(run=trained) for a in args]]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_translate_warns_about_unknown_characters(trained):
    result = run_cli("seq2seq", "translate", str(trained), "March 14, 2024 ☃")
    assert result.returncode == 0 and "<unk>" in result.stderr


@pytest.mark.slow
def test_compare_quick_writes_report_plot_and_heatmaps(tmp_path):
    out = tmp_path / "cmp"
    result = run_cli("seq2seq", "compare", "--preset", "quick", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text()
    for label in ("no attention", "Bahdanau", "Luong general", "scaled dot"):
        assert label in report
    assert "What the comparison was set up to show, and what this run measured:" in report
    assert (out / "accuracy_by_length.png").is_file()
    assert len(list((out / "heatmaps").glob("*.png"))) == 3  # 3 attention models x 1 long
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["metrics"]["models"]) == {"none", "bahdanau", "general", "scaled_dot"}

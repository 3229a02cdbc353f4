"""Values torch or NumPy used to reject deep inside (tracebacks), values that ran to absurd
results (silent nonsense), and damaged files: each is refused in one line naming the option,
or stated with the result."""

import json

import pytest
import torch

from faults.conftest import TINY_LM, assert_one_line_error


@pytest.mark.parametrize("args, needle", [
    (["--optimizer", "sgd", "--lr", "-1"], "--lr -1 is out of range: choose a value > 0"),
    (["--weight-decay", "-1"], "--weight-decay -1 is out of range"),
    (["--threads", "-2"], "--threads -2 is out of range: choose a value >= 1"),
    (["--embedding-dim", "-1"], "--embedding-dim -1 is out of range"),
    (["--min-lr-ratio", "-0.5"], "--min-lr-ratio -0.5 is out of range"),
    (["--max-vocab", "0"], "--max-vocab 0 is out of range"),
    (["--max-minutes", "0"], "--max-minutes 0 is out of range"),
    (["--max-minutes", "-3"], "--max-minutes -3 is out of range"),
    (["--eval-batch-size", "0"], "--eval-batch-size 0 is out of range"),
    (["--clip", "-1"], "--clip -1 is out of range"),
    (["--dropout", "1.5"], "--dropout 1.5 is out of range: choose a value in [0, 1)"),
    (["--valid-fraction", "0.7", "--test-fraction", "0.4"], "leaves no training split"),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_train_options_out_of_range(seqlm, tmp_path, args, needle):
    code, _, err = seqlm("train", *TINY_LM, *args, "--out", "r")
    assert_one_line_error(code, err, ["train"], needle)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content, needle", [
    ({"model": {"hidden_size": "big"}}, "model.hidden_size = 'big' is not an integer"),
    ({"corpus": "verbs"}, "corpus = 'verbs' is not an object of CorpusConfig fields"),
    ({"engine": {"max_steps": 600.5}}, "engine.max_steps = 600.5 is not an integer"),
    ({"max_stpes": 600}, "max_stpes = 600 is not a field of TrainConfig"),
    ([1, 2], "is not an object of TrainConfig fields"),
], ids=["wrong-type", "string-for-object", "float-steps", "typo", "not-an-object"])
def test_a_config_file_with_a_wrong_type(seqlm, tmp_path, content, needle):
    (tmp_path / "c.json").write_text(json.dumps(content))
    code, _, err = seqlm("train", "--config", "c.json", "--out", "r")
    message = assert_one_line_error(code, err, ["train"], needle)
    assert "config file c.json" in message


@pytest.mark.parametrize("args, needle", [
    (["--batch-size", "0"], "--batch-size 0 is out of range"),
    (["--window", "0"], "--window 0 is out of range"),
    (["--split", "nope"], "--split 'nope' is not a choice: choose one of train, valid, test"),
])
def test_eval_options_out_of_range(seqlm, trained_lm, args, needle):
    code, _, err = seqlm("eval", str(trained_lm), *args, "--out", "e")
    assert_one_line_error(code, err, ["eval"], needle)


def test_resume_refuses_another_corpus_by_name(seqlm, trained_lm):
    code, _, err = seqlm("train", "--resume", str(trained_lm), "--corpus", "tinyshakespeare",
                         "--max-steps", "8", "--out", "r")
    assert_one_line_error(code, err, ["train"], "--corpus tinyshakespeare differs from the "
                          "checkpoint's verbs")


def test_resume_of_a_checkpoint_that_disagrees_with_its_own_config(seqlm, tmp_path, trained_lm):
    ckpt = torch.load(trained_lm / "last.pt", weights_only=True)
    ckpt["config"]["model"]["hidden_size"] = 32  # the weights are still 16 wide
    torch.save(ckpt, tmp_path / "edited.pt")
    code, _, err = seqlm("train", "--resume", "edited.pt", "--max-steps", "8", "--out", "r")
    assert_one_line_error(code, err, ["train"], "does not match its own config")
    assert not (tmp_path / "r").exists()


class Evil:
    """Any class: a checkpoint holding one needs its code unpickled."""


def test_checkpoint_errors_never_suggest_loading_unsafely(seqlm, tmp_path):
    torch.save({"format": "seqlm-checkpoint", "version": 1, "kind": "lm", "x": Evil()},
               tmp_path / "evil.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint at all")
    for name in ("evil.pt", "text.pt"):
        code, _, err = seqlm("sample", name)
        message = assert_one_line_error(code, err, ["sample"], "cannot be read")
        assert "weights_only" not in message and "unsafe" not in message.lower()


def test_by_hand_load_of_a_truncated_npz(seqlm, tmp_path):
    from seqlm.config import ReferenceModelConfig
    from seqlm.reference.lm import ReferenceLM
    from seqlm.reference.weights import save_weights

    path = save_weights(tmp_path / "model.npz", ReferenceLM(ReferenceModelConfig(vocab_size=9)))
    path.write_bytes(path.read_bytes()[:300])
    code, _, err = seqlm("by-hand", "--load", "model.npz", "--out", "r")
    assert_one_line_error(code, err, ["by-hand"], "damaged or not a NumPy .npz file")


def test_a_run_without_a_validation_split_says_so(seqlm, tmp_path):
    code, out, err = seqlm("train", *TINY_LM, "--valid-fraction", "0", "--out", "r")
    assert code == 0, err
    assert "nan" not in out and "no validation split (--valid-fraction 0)" in out


def test_a_diverging_run_is_not_reported_finished(seqlm, tmp_path):
    code, out, err = seqlm("train", *TINY_LM, "--optimizer", "sgd", "--lr", "1e6", "--clip",
                           "0", "--max-steps", "40", "--log-every", "1", "--out", "r")
    message = assert_one_line_error(code, err, ["train"], "training loss became")
    assert "diverged" in message and "finished" not in out
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "diverged"
    kept = "the last good checkpoint is kept" in message
    assert kept == ((tmp_path / "r" / "best.pt").exists()
                    or (tmp_path / "r" / "last.pt").exists())


def test_eval_of_unseen_characters_reports_their_share(seqlm, tmp_path, trained_lm):
    (tmp_path / "t.txt").write_text("he works .\nzorgle blorp fnord .\n" * 10)
    code, out, err = seqlm("eval", str(trained_lm), "--text-file", "t.txt", "--json",
                           "--out", "e")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["unknown_tokens"] == 30 and scores["unknown_share"] == pytest.approx(30 / 90)


def test_data_show_caps_a_giant_line(seqlm, tmp_path):
    (tmp_path / "big.txt").write_text("x" * 200_000)
    code, out, _ = seqlm("data", "show", "--corpus", "file:big.txt")
    assert code == 0 and max(len(line) for line in out.splitlines()) < 400


@pytest.mark.parametrize("value", ["nan", "inf", "0.5"])
def test_an_arpa_file_with_impossible_values_is_refused_with_its_line(seqlm, tmp_path, value):
    (tmp_path / "bad.arpa").write_text(
        "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1.0\t<unk>\t0\n0\t<s>\t-0.5\n"
        f"{value}\t</s>\t0\n\n\\2-grams:\n-0.3\t<s> </s>\n\n\\end\\\n")
    code, _, err = seqlm("ngram", "eval", "--arpa", "bad.arpa", "--text-file", "bad.arpa",
                         "--out", "e")
    assert_one_line_error(code, err, ["ngram", "eval"], "bad.arpa line 8")

"""`--cell mingru` / `minlstm` end to end: `seqlm train` beats the unigram baseline on verbs,
`seqlm sample` (temperatures and beam search) work on the result, and
`seqlm compare --cells` takes the new cells."""

import json
import math
from collections import Counter

import pytest

from conftest import run_cli_json
from seqlm.config import CorpusConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.tokenizers import get_tokenizer

VERBS = ["--corpus", "verbs", "--size", "3000", "--unit", "word", "--embedding-dim", "32",
         "--hidden-size", "64", "--num-layers", "1", "--dropout", "0", "--batch-size", "16",
         "--window", "20", "--max-steps", "150", "--eval-every", "150", "--lr", "1e-2",
         "--warmup-steps", "10", "--threads", "1"]


def unigram_nats(train_tokens, valid_tokens) -> float:
    """Add-one unigram cross-entropy of the validation tokens, nats per token."""
    counts = Counter(train_tokens)
    total, types = sum(counts.values()), len(counts) + 1
    return -sum(math.log((counts[t] + 1) / (total + types)) for t in valid_tokens) / \
        len(valid_tokens)


@pytest.fixture(scope="module")
def mingru_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mingru") / "run"
    return out, run_cli_json("train", *VERBS, "--cell", "mingru", "--out", str(out))


def test_mingru_beats_the_unigram_baseline_on_verbs(mingru_run):
    out, result = mingru_run
    corpus = load_corpus(CorpusConfig(name="verbs", size=3000))
    tok = get_tokenizer("word")
    baseline = unigram_nats(tok.tokenize(corpus.text("train")), tok.tokenize(corpus.text("valid")))
    valid = result["final_valid"]["loss_nats"]
    assert valid < baseline - 1.0, (valid, baseline)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["model"]["cell"] == "mingru"


def test_sample_a_mingru_run(mingru_run):
    out, _ = mingru_run
    s = run_cli_json("sample", str(out), "--prime", "i work , you", "--length", "12",
                     "--temperature", "0", "0.8")
    assert [x["method"] for x in s["samples"]] == ["greedy", "sample"]
    assert all(x["text"].strip() for x in s["samples"])
    beams = run_cli_json("sample", str(out), "--prime", "i work , you", "--length", "12",
                         "--beam-width", "3")
    assert len(beams["samples"]) >= 1 and beams["samples"][0]["method"] == "beam"


def test_minlstm_trains_with_the_chunked_scan_residual_and_norm(tmp_path):
    r = run_cli_json("train", "--corpus", "verbs", "--size", "300", "--unit", "char",
                     "--hidden-size", "16", "--embedding-dim", "8", "--batch-size", "4",
                     "--window", "16", "--max-steps", "4", "--eval-every", "2",
                     "--eval-max-tokens", "300", "--threads", "1", "--cell", "minlstm",
                     "--scan", "chunked", "--scan-chunk", "5", "--residual", "--layer-norm",
                     "--out", str(tmp_path / "a"))
    assert r["steps"] == 4 and r["config"]["model"]["scan"] == "chunked"
    assert r["config"]["model"]["residual"] and r["config"]["model"]["layer_norm"]


def test_compare_refuses_a_cell_named_twice(tmp_path, capsys):
    from seqlm.cli import main

    code = main(["compare", "--quick", "--cells", "lstm", "mingru", "lstm",
                 "--out", str(tmp_path / "c")])
    assert code == 2 and "names a cell twice" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()

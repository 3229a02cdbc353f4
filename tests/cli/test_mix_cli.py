"""`seqlm mix` end to end: n-gram and ∞-gram components, a static ARPA, one-line errors."""

import pytest

from conftest import run_cli, run_cli_json

LINES = ["i work , you work , he works .", "we sing , they sing , she sings .",
         "i read , you read , he reads .", "we play , they play , it plays ."]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("".join(LINES[i % 4] + "\n" for i in range(80)))
    return f"file:{path}"


def test_mix_ngrams_and_an_index(tmp_path, corpus):
    pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")
    split = ["--valid-fraction", "0.2", "--test-fraction", "0.2"]
    for order, smoothing in ((3, "mkn"), (2, "kn")):
        run_cli_json("ngram", "train", "--corpus", corpus, "--unit", "word", "--order",
                     str(order), "--smoothing", smoothing, *split, "--arpa",
                     str(tmp_path / f"{order}.arpa"), "--out", str(tmp_path / f"run{order}"))
    run_cli_json("ngram", "index", "--corpus", corpus, "--unit", "word", *split,
                 "--out", str(tmp_path / "c.idx"))
    out = run_cli_json("mix", str(tmp_path / "3.arpa"), str(tmp_path / "2.arpa"),
                       f"index:{tmp_path / 'c.idx'}", "--corpus", corpus, *split)
    assert sum(out["weights"].values()) == pytest.approx(1.0)
    nats = out["dev_nats_per_iteration"]
    assert all(b <= a + 1e-12 for a, b in zip(nats, nats[1:], strict=False))
    assert set(out["components"]) == {"3.arpa", "2.arpa", "c.idx"}
    levels = run_cli_json("mix", str(tmp_path / "3.arpa"), f"index:{tmp_path / 'c.idx'}",
                          "--min-counts", "2", "8", "--corpus", corpus, *split)
    assert list(levels["components"]) == ["3.arpa", "c.idx", "c.idx ≥2", "c.idx ≥8"]
    for nats in levels["bucket_dev_nats_per_iteration"].values():
        assert all(b <= a + 1e-12 for a, b in zip(nats, nats[1:], strict=False))
    smoothed = run_cli_json("mix", str(tmp_path / "3.arpa"), f"smoothed:{tmp_path / 'c.idx'}",
                            "--corpus", corpus, *split)
    assert list(smoothed["components"]) == ["3.arpa", "c.idx smoothed"]
    assert smoothed["components"]["c.idx smoothed"]["zero_tokens"] == 0
    assert sum(smoothed["weights"].values()) == pytest.approx(1.0)
    static = run_cli_json("mix", str(tmp_path / "3.arpa"), str(tmp_path / "2.arpa"),
                          "--weights", "0.5", "0.5", "--corpus", corpus, *split,
                          "--write-arpa", str(tmp_path / "mix.arpa"))
    assert (tmp_path / "mix.arpa").is_file() and static["weights"]["3.arpa"] == 0.5
    ev = run_cli_json("ngram", "eval", "--arpa", str(tmp_path / "mix.arpa"), "--corpus", corpus,
                      *split, "--split", "test", "--out", str(tmp_path / "ev"))
    assert ev["perplexity"] == pytest.approx(static["mixture"]["perplexity"], rel=0.05)


def test_bad_weights_and_models_are_one_line(tmp_path, corpus):
    run_cli_json("ngram", "train", "--corpus", corpus, "--unit", "word", "--order", "2",
                 "--arpa", str(tmp_path / "a.arpa"), "--out", str(tmp_path / "r"))
    bad = run_cli("mix", str(tmp_path / "a.arpa"), str(tmp_path / "a.arpa"), "--weights",
                  "0.2", "0.3", "--corpus", corpus, "--test-split", "valid",
                  "--dev-split", "train")
    assert bad.returncode == 2 and "sum to 0.5, not 1" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    for counts, says in ((["1"], "--min-counts 1 is out of range"),
                         (["4"], "no model is one: add an index:PATH")):
        bad = run_cli("mix", str(tmp_path / "a.arpa"), str(tmp_path / "a.arpa"),
                      "--min-counts", *counts, "--corpus", corpus)
        assert bad.returncode == 2 and says in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("mix", str(tmp_path / "a.arpa"), "arpa:nowhere.arpa", "--corpus", corpus)
    assert missing.returncode == 2 and "no model file at nowhere.arpa" in missing.stderr

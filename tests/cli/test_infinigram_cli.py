"""`seqlm ngram index | find | query | score` end to end, in subprocesses."""

import pytest

from conftest import run_cli, run_cli_json

pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")

TEXT = "def f(x):\n    return x + 1\n" * 20 + "def g(y):\n    return y * 2\n" * 5


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "a.py").write_text(TEXT)
    (d / "b.py").write_text("def g(y):\n    return y\n" * 10)
    return d


def test_index_find_query_score(tmp_path, folder):
    idx = tmp_path / "code.idx"
    out = run_cli_json("ngram", "index", "--corpus", f"file:{folder}", "--unit", "byte",
                       "--out", str(idx))
    assert out["documents"] == 2 and out["token_dtype"] == "|u1" and idx.is_file()
    found = run_cli_json("ngram", "find", str(idx), "return y", "--limit", "3")
    assert found["count"] > 5 and len(found["hits"]) == 3
    assert all(h["match"] == "return y" for h in found["hits"])
    q = run_cli_json("ngram", "query", str(idx), "def f(x):\n    retu", "--top-k", "2")
    assert q["suffix_length"] == len("def f(x):\n    retu") and q["top_k"][0]["token"] == "r"
    assert q["top_k"][0]["p"] == 1.0
    s = run_cli_json("ngram", "score", str(idx), "--corpus", f"file:{folder}")
    assert s["tokens"] > 0 and 0 <= s["zero_share"] < 1 and s["nats_per_token"] >= 0


def test_bad_inputs_are_one_line(tmp_path, folder):
    idx = tmp_path / "w.idx"
    run_cli_json("ngram", "index", "--corpus", f"file:{folder}", "--unit", "word",
                 "--out", str(idx))
    again = run_cli("ngram", "index", "--corpus", f"file:{folder}", "--out", str(idx))
    assert again.returncode == 2 and "pass --overwrite" in again.stderr
    (tmp_path / "junk.idx").write_text("hello")
    bad = run_cli("ngram", "find", str(tmp_path / "junk.idx"), "x")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "not a seqlm suffix index" in bad.stderr
    other = run_cli("ngram", "index", "--corpus", "verbs", "--documents", "files",
                    "--out", str(tmp_path / "v.idx"))
    assert other.returncode == 2 and "not read from files" in other.stderr

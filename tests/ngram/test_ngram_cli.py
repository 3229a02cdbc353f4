"""`seqlm ngram train | eval | sample | predict` end to end, in subprocesses."""

import json
import random
import subprocess
import sys

import pytest

from conftest import SRC, run_cli, run_cli_json

TEXT = "".join(f"i {v} , you {v} , he {v}s .\n" for v in
               ["work", "walk", "run", "sing", "jump", "play", "read", "cook"] * 4)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TEXT)
    return f"file:{path}"


def manifest(run_dir):
    data = json.loads((run_dir / "manifest.json").read_text())
    assert data["status"] == "ok"
    return data


def test_train_eval_sample_predict(tmp_path, corpus):
    arpa = tmp_path / "m.arpa"
    out = run_cli_json("ngram", "train", "--corpus", corpus, "--unit", "word", "--order", "4",
                       "--arpa", str(arpa), "--out", str(tmp_path / "train"))
    assert arpa.is_file() and out["counts"][0] > 10
    assert manifest(tmp_path / "train")["config"]["order"] == 4

    ev = run_cli_json("ngram", "eval", "--arpa", str(arpa), "--corpus", corpus,
                      "--out", str(tmp_path / "eval"))
    assert 1 < ev["perplexity"] < 20 and ev["perplexity_excluding_oov"] <= ev["perplexity"] + 1e-9
    assert manifest(tmp_path / "eval")["metrics"]["tokens"] == ev["tokens"]

    sm = run_cli_json("ngram", "sample", "--arpa", str(arpa), "--samples", "3", "--seed", "1",
                      "--out", str(tmp_path / "sample"))
    assert len(sm["samples"]) == 3 and all(s for s in sm["samples"])

    pr = run_cli_json("ngram", "predict", "i work , you work , he", "--arpa", str(arpa),
                      "--top-k", "3", "--out", str(tmp_path / "predict"))
    assert pr["top_k"][0]["token"] == "works" and pr["top_k"][0]["p"] > 0.3
    assert manifest(tmp_path / "predict")["metrics"]["top_k"][0]["token"] == "works"


def test_on_the_fly_training_with_addk(tmp_path, corpus):
    ev = run_cli_json("ngram", "eval", "--corpus", corpus, "--smoothing", "addk",
                      "--unit", "char", "--order", "4", "--out", str(tmp_path / "e"))
    assert ev["oovs"] == 0 and 1 < ev["perplexity"] < 30
    result = run_cli("ngram", "train", "--corpus", corpus, "--smoothing", "stupid",
                     "--out", str(tmp_path / "t"))
    assert result.returncode == 0 and "none: not an ARPA-writable" in result.stdout


@pytest.mark.parametrize("order", ["0", "17"])
def test_bad_order(tmp_path, corpus, order):
    result = run_cli("ngram", "train", "--corpus", corpus, "--order", order,
                     "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert f"--order {order} is out of range: choose a value from 1 to 16" in result.stderr
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_bad_files(tmp_path, corpus):
    result = run_cli("ngram", "eval", "--arpa", str(tmp_path / "none.arpa"), "--corpus", corpus,
                     "--out", str(tmp_path / "a"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\nxx\n")
    result = run_cli("ngram", "predict", "a", "--arpa", str(bad), "--out", str(tmp_path / "b"))
    assert result.returncode == 2 and "line 6" in result.stderr
    result = run_cli("ngram", "train", "--corpus", f"file:{tmp_path / 'missing.txt'}",
                     "--out", str(tmp_path / "c"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_ngram_commands_never_import_torch(tmp_path, corpus):
    code = ("import sys; from seqlm.cli import main; "
            f"main(['ngram', 'train', '--corpus', {corpus!r}, '--out', {str(tmp_path / 'r')!r}, "
            "'--quiet']); assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_kenlm_precision_through_an_arpa_file(tmp_path, corpus):
    from seqlm.config import CorpusConfig, NgramConfig
    from seqlm.data.corpora import load_corpus
    from seqlm.ngram import fit

    arpa = tmp_path / "k.arpa"
    run_cli_json("ngram", "train", "--corpus", corpus, "--order", "3", "--unit", "word",
                 "--kenlm-precision", "--arpa", str(arpa), "--out", str(tmp_path / "t"))
    ev = run_cli_json("ngram", "eval", "--arpa", str(arpa), "--kenlm-precision", "--corpus",
                      corpus, "--split", "train", "--out", str(tmp_path / "e"))
    train = load_corpus(CorpusConfig(corpus)).text("train")
    direct = fit(train, NgramConfig(order=3, precision="kenlm")).perplexity(train)
    assert ev["perplexity"] == pytest.approx(direct.perplexity, rel=1e-12)


def test_train_in_bounded_memory_writes_the_same_files(tmp_path):
    words = [f"w{i}" for i in range(300)]
    rng = random.Random(0)
    big = tmp_path / "big.txt"  # ~24,000 words: enough to spill under 64K
    big.write_text("".join(" ".join(rng.choices(words, k=rng.randint(1, 15))) + "\n"
                           for _ in range(3000)))
    common = ("ngram", "train", "--text-file", str(big), "--order", "4", "--unit", "word",
              "--prune", "0", "0", "1", "--kenlm-precision")
    free = run_cli_json(*common, "--arpa", str(tmp_path / "free.arpa"), "--binary",
                        str(tmp_path / "free.bin"), "--out", str(tmp_path / "free"))
    bounded = run_cli_json(*common, "--memory", "64K", "--temp-dir", str(tmp_path / "spill"),
                           "--arpa", str(tmp_path / "bounded.arpa"), "--binary",
                           str(tmp_path / "bounded.bin"), "--out", str(tmp_path / "bounded"))
    assert (tmp_path / "free.arpa").read_bytes() == (tmp_path / "bounded.arpa").read_bytes()
    assert (tmp_path / "free.bin").read_bytes() == (tmp_path / "bounded.bin").read_bytes()
    assert bounded["counts"] == free["counts"] and bounded["counts"][3] < bounded["counts"][2]
    memory = manifest(tmp_path / "bounded")["memory"]
    assert memory["budget_bytes"] == 64 * 1024 and memory["spilled"]
    assert memory["peak_rss_bytes"] > memory["rss_before_bytes"]
    assert not list((tmp_path / "spill").iterdir())


def test_train_on_a_whole_text_file(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    out = run_cli_json("ngram", "train", "--text-file", str(text), "--order", "2",
                       "--out", str(tmp_path / "r"))
    assert out["counts"][0] == len(set(TEXT.split())) + 3
    assert manifest(tmp_path / "r")["data"]["text_file"]["bytes"] == len(TEXT)
    bad = run_cli("ngram", "train", "--text-file", str(tmp_path / "no.txt"), "--out",
                  str(tmp_path / "r2"))
    assert bad.returncode == 2 and "is not a file" in bad.stderr


def test_readme_examples_on_verbs_run_clean(tmp_path):
    """The README's documented sample/predict commands print no warning (issue 18): verbs'
    unigram counts of counts (t1..t4 = 54, 10, 11, 21) give modified KN a negative D2, so the
    examples use --smoothing kn, whose one discount needs only t1 and t2."""
    sample = run_cli("ngram", "sample", "--corpus", "verbs", "--order", "4", "--smoothing", "kn",
                     "--samples", "5", "--temperature", "0.8", "--out", str(tmp_path / "s"))
    predict = run_cli("ngram", "predict", "i work , you work , he", "--corpus", "verbs",
                      "--order", "4", "--smoothing", "kn", "--top-k", "5",
                      "--out", str(tmp_path / "p"))
    for result in (sample, predict):
        assert result.returncode == 0 and result.stderr == ""
    assert len(sample.stdout.strip().split("\n")) == 5
    assert predict.stdout.split()[0] == "'works'"
    mkn = run_cli("ngram", "predict", "i work", "--corpus", "verbs", "--order", "4",
                  "--out", str(tmp_path / "m"))
    assert "D2 = -0.4081" in mkn.stderr and "--smoothing kn" in mkn.stderr

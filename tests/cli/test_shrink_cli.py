"""`seqlm ngram shrink`: entropy pruning from the command line, and its one-line errors."""

from conftest import run_cli, run_cli_json

TEXT = "".join(f"i {v} , you {v} , he {v}s .\n" for v in
               ["work", "walk", "run", "sing", "jump", "play", "read", "cook"] * 4)


def test_shrink_to_a_threshold_and_to_a_size(tmp_path):
    (tmp_path / "c.txt").write_text(TEXT)
    run_cli_json("ngram", "train", "--corpus", f"file:{tmp_path / 'c.txt'}", "--unit", "word",
                 "--order", "3", "--arpa", str(tmp_path / "m.arpa"), "--out", str(tmp_path / "r"))
    small = run_cli_json("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"),
                         "--target-ngrams", "60", "--out", str(tmp_path / "s.arpa"))
    assert sum(small["counts"]) <= 60 < sum(small["counts_before"])
    ev = run_cli_json("ngram", "eval", "--arpa", str(tmp_path / "s.arpa"), "--corpus",
                      f"file:{tmp_path / 'c.txt'}", "--out", str(tmp_path / "e"))
    assert ev["perplexity"] > 1
    same = run_cli_json("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"),
                        "--prune-entropy", "0", "--out", str(tmp_path / "z.arpa"))
    assert same["counts"] == same["counts_before"]
    neg = run_cli("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"), "--prune-entropy",
                  "-0.1", "--out", str(tmp_path / "n.arpa"))
    assert neg.returncode == 2 and "--prune-entropy -0.1" in neg.stderr and ">= 0" in neg.stderr
    assert len(neg.stderr.strip().splitlines()) == 1
    kept = run_cli_json("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"),
                        "--target-ngrams", "60", "--min-order", "3", "--out",
                        str(tmp_path / "k.arpa"))
    assert kept["min_order"] == 3 and kept["counts"][:2] == kept["counts_before"][:2]
    high = run_cli("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"), "--prune-entropy",
                   "1e-7", "--min-order", "4", "--out", str(tmp_path / "h.arpa"))
    assert high.returncode == 2 and "--min-order 4 for a model of order 3" in high.stderr
    assert len(high.stderr.strip().splitlines()) == 1


def test_shrink_with_count_cutoffs_counts_the_training_text(tmp_path):
    (tmp_path / "c.txt").write_text(TEXT)
    corpus = ["--corpus", f"file:{tmp_path / 'c.txt'}"]
    run_cli_json("ngram", "train", *corpus, "--unit", "word", "--order", "3", "--arpa",
                 str(tmp_path / "m.arpa"), "--out", str(tmp_path / "r"))
    cut = run_cli_json("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"), *corpus,
                       "--prune", "0", "0", "3", "--prune-entropy", "0",
                       "--out", str(tmp_path / "c.arpa"))
    assert cut["prune"] == [0, 0, 3] and cut["counts"][:2] == cut["counts_before"][:2]
    assert 0 < cut["counts"][2] < cut["counts_before"][2]
    (tmp_path / "other.txt").write_text("a b c\n")
    wrong = run_cli("ngram", "shrink", "--arpa", str(tmp_path / "m.arpa"), "--text-file",
                    str(tmp_path / "other.txt"), "--prune", "0", "1", "--prune-entropy", "0",
                    "--out", str(tmp_path / "w.arpa"))
    assert wrong.returncode == 2 and "never occur in the text given" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

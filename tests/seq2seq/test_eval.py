import pytest

from seqlm.config import Seq2SeqEvalConfig
from seqlm.errors import SeqlmError
from seqlm.metrics import wilson_interval
from seqlm.runs.seq2seq_eval import format_summary, read_tsv
from seqlm.training.seq2seq_score import bucket_of, char_accuracy, score


def test_scores_of_a_known_set():
    pairs = [("1 May 2000", "2000-05-01"), ("x" * 25, "1999-12-31"), ("y" * 25, "2001-01-01"),
             ("2 May 2000", "2000-05-02")]
    outputs = ["2000-05-01", "1999-12-30", "2001-01-01", "2000-05"]
    s = score(pairs, outputs, Seq2SeqEvalConfig(bucket_width=20, max_errors=1))
    assert s["exact_match"]["correct"] == 2 and s["exact_match"]["n"] == 4
    assert s["exact_match"]["ci95"] == list(wilson_interval(2, 4))
    assert s["char_accuracy"]["correct"] == 10 + 9 + 10 + 7
    assert s["char_accuracy"]["n"] == 40
    assert [(b["bucket"], b["correct"], b["n"]) for b in s["by_length"]] == [
        ("1-20", 1, 2), ("21-40", 1, 2)]
    assert s["n_errors"] == 2 and len(s["errors"]) == 1
    assert s["errors"][0] == {"source": "x" * 25, "target": "1999-12-31",
                              "output": "1999-12-30"}
    assert "50.00% (2/4" in format_summary(s)


def test_char_accuracy_counts_missing_characters_as_wrong_and_ignores_extra_ones():
    assert char_accuracy(["ab"], ["abcd"]).accuracy == 0.5
    assert char_accuracy(["abcdXYZ"], ["abcd"]).accuracy == 1.0
    assert char_accuracy(["Xbcd"], ["abcd"]).accuracy == 0.75


@pytest.mark.parametrize("length, bucket", [(1, (1, 20)), (20, (1, 20)), (21, (21, 40)),
                                            (120, (101, 120))])
def test_buckets(length, bucket):
    assert bucket_of(length, 20) == bucket


def test_read_tsv():
    assert read_tsv("a b\t1\n\nc\td\te\n") == [("a b", "1"), ("c", "d\te")]
    with pytest.raises(SeqlmError, match="line 2 has no TAB"):
        read_tsv("a\tb\nno tab here\n")
    with pytest.raises(SeqlmError, match="no source<TAB>target"):
        read_tsv("\n\n")
    with pytest.raises(SeqlmError, match="empty"):
        score([], [])

import pytest

from seqlm.config import CorpusConfig
from seqlm.data.corpora import list_corpora, load_corpus, split_by_fraction, split_by_line
from seqlm.errors import SeqlmError


def load_file(path, **kw):
    return load_corpus(CorpusConfig(name=f"file:{path}", **kw))


def test_file_corpus_splits_90_10_and_records_identity(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * 10)
    corpus = load_file(path)
    assert corpus.splits["train"] == ("abcdefghij" * 10)[:90]
    assert len(corpus.splits["valid"]) == 10 and corpus.splits["test"] == ""
    assert corpus.identity()["split_chars"] == {"train": 90, "valid": 10, "test": 0}
    with pytest.raises(SeqlmError, match="test split .* is empty"):
        corpus.text("test")


def test_folder_of_files_is_read_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.txt").write_text("first\n")
    corpus = load_file(tmp_path, valid_fraction=0.0)
    assert corpus.splits["train"] == "first\nsecond\n"


def test_bad_encoding_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(SeqlmError, match=r"byte 3.*--encoding-errors replace"):
        load_file(path)
    assert "\ufffd" in load_file(path, encoding_errors="replace", valid_fraction=0.0).text("train")


def test_empty_missing_and_unknown(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n\t\n")
    with pytest.raises(SeqlmError, match="empty or whitespace only"):
        load_file(tmp_path / "empty.txt")
    with pytest.raises(SeqlmError, match="does not exist"):
        load_file(tmp_path / "nope.txt")
    with pytest.raises(SeqlmError, match="known corpora are .*tinyshakespeare.*verbs.*dates"):
        load_corpus(CorpusConfig(name="wikitext"))


def test_split_helpers():
    parts = split_by_fraction("x" * 100, 0.1, 0.1)
    assert [len(parts[k]) for k in ("train", "valid", "test")] == [80, 10, 10]
    lines = [str(i) for i in range(10)]
    parts = split_by_line(lines, 0.2, 0.1)
    assert parts["train"] == "".join(f"{i}\n" for i in range(7))
    assert parts["valid"] == "7\n8\n" and parts["test"] == "9\n"
    with pytest.raises(SeqlmError, match="fractions"):
        split_by_fraction("abc", 0.6, 0.5)


def test_registry_lists_every_corpus():
    names = [spec.name for spec in list_corpora()]
    assert names == ["tinyshakespeare", "verbs", "dates", "brackets", "python-stdlib",
                     "enwik8", "text8", "ptb", "wikitext2", "file:PATH"]

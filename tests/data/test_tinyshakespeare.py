"""The Tiny Shakespeare loader on the real file, and its download path against a local HTTP
server (the real download code; no network)."""

import hashlib
from pathlib import Path

import pytest

from seqlm.config import CorpusConfig
from seqlm.data.corpora import load_corpus, tinyshakespeare
from seqlm.errors import SeqlmError
from seqlm.progress import Progress


def test_real_file_through_data_dir(shakespeare_dir, monkeypatch):
    monkeypatch.setenv("SEQLM_DATA_DIR", str(shakespeare_dir))
    corpus = load_corpus(CorpusConfig(name="tinyshakespeare"))
    assert corpus.sha256 == tinyshakespeare.SHA256
    sizes = corpus.split_sizes()
    assert sizes["train"] + sizes["valid"] == 1_115_394
    assert sizes["train"] == int(1_115_394 * 0.9)
    assert corpus.text("train").startswith("First Citizen:")
    with_test = load_corpus(CorpusConfig(name="tinyshakespeare", test_fraction=0.05))
    assert sum(with_test.split_sizes().values()) == 1_115_394 and with_test.text("test")


def use_fake_text(monkeypatch, text: bytes) -> None:
    monkeypatch.setattr(tinyshakespeare, "SHA256", hashlib.sha256(text).hexdigest())


def test_download_verifies_caches_and_reports_progress(server, tmp_path, monkeypatch):
    root, base = server
    text = b"First Citizen:\nBefore we proceed any further, hear me speak.\n" * 200
    (root / "input.txt").write_bytes(text)
    use_fake_text(monkeypatch, text)
    cache = tmp_path / "cache"
    events: list[Progress] = []
    path = tinyshakespeare.locate(CorpusConfig(name="tinyshakespeare", data_dir=str(cache)),
                                  url=f"{base}/input.txt", progress=events.append)
    assert path == cache / "tinyshakespeare.txt" and path.read_bytes() == text
    assert events and events[-1].done == len(text) and events[-1].total == len(text)
    assert list(cache.iterdir()) == [path]  # no temporary files left
    # the cached copy is used: the server may go away
    (root / "input.txt").unlink()
    again = tinyshakespeare.locate(CorpusConfig(name="tinyshakespeare", data_dir=str(cache)),
                                   url=f"{base}/input.txt")
    assert again == path


def test_checksum_mismatch_is_refused_and_not_kept(server, tmp_path, monkeypatch):
    root, base = server
    (root / "input.txt").write_bytes(b"not shakespeare\n")
    use_fake_text(monkeypatch, b"the real text\n")
    cache = tmp_path / "cache"
    with pytest.raises(SeqlmError, match="expected .*discarded"):
        tinyshakespeare.locate(CorpusConfig(name="tinyshakespeare", data_dir=str(cache)),
                               url=f"{base}/input.txt")
    assert not any(cache.iterdir())


def test_offline_error_says_where_to_put_the_file(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(SeqlmError, match=r"put tinyshakespeare.txt .* SEQLM_DATA_DIR"):
        tinyshakespeare.locate(CorpusConfig(name="tinyshakespeare", data_dir=str(cache)),
                               url="http://127.0.0.1:9/input.txt")


def test_bad_cached_or_local_copy_is_refused(tmp_path):
    bad = tmp_path / "tinyshakespeare.txt"
    bad.write_text("something else")
    with pytest.raises(SeqlmError, match="not Tiny Shakespeare's"):
        load_corpus(CorpusConfig(name="tinyshakespeare", data_dir=str(tmp_path)))
    with pytest.raises(SeqlmError, match="not Tiny Shakespeare's"):
        load_corpus(CorpusConfig(name="tinyshakespeare", path=str(bad)))
    with pytest.raises(SeqlmError, match="does not exist"):
        load_corpus(CorpusConfig(name="tinyshakespeare", path=str(Path(tmp_path) / "none")))

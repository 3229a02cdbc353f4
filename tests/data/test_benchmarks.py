"""The standard benchmarks' download, checksum, cache, archive and split logic, on small
stand-in files served from a local HTTP server with the registry's URLs, checksums and split
sizes swapped for the stand-ins' (no network; the real files are never needed)."""

import dataclasses
import hashlib
import io
import zipfile

import pytest

from seqlm.config import CorpusConfig
from seqlm.data.corpora import benchmarks, load_corpus
from seqlm.errors import SeqlmError


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stand_in(monkeypatch, name: str, base: str, sha256: dict[str, str] | None = None,
             **changes) -> None:
    """The registry's `name` with its URLs pointed at `base`, its files' sha256 taken from
    `sha256` (by file name; the registry's kept when not given) and other fields changed."""
    bench = benchmarks.BENCHMARKS[name]
    remotes = tuple(dataclasses.replace(r, url=f"{base}/{r.filename}",
                                        sha256=(sha256 or {}).get(r.filename, r.sha256))
                    for r in bench.remotes)
    monkeypatch.setitem(benchmarks.BENCHMARKS, name,
                        dataclasses.replace(bench, remotes=remotes, **changes))


# enwik8's layout: one zipped file, 90/5/5 by bytes. "é" is 2 UTF-8 bytes, so the stand-in's
# cut at byte 9 falls inside a character and must move to byte 10.
ENWIK = ("abcdefgh" + "é" + "ijklmnopq" + "rs").encode()  # 8 + 2 + 9 + 2 = 21 bytes


def test_enwik8_downloads_once_verifies_and_splits_by_bytes(server, tmp_path, monkeypatch):
    root, base = server
    archive = zipped({"enwik8": ENWIK})
    (root / "enwik8.zip").write_bytes(archive)
    stand_in(monkeypatch, "enwik8", base, sha256={"enwik8.zip": sha(archive)},
             prefix=(9, 6, 6), member_size=len(ENWIK))
    cache = tmp_path / "cache"
    corpus = load_corpus(CorpusConfig(name="enwik8", data_dir=str(cache)))
    assert (cache / "enwik8.zip").read_bytes() == archive
    assert corpus.details["split_bytes"] == [10, 15, 21]  # 9 -> 10: a character start
    assert corpus.splits == {"train": "abcdefghé", "valid": "ijklm", "test": "nopqrs"}
    assert corpus.default_unit == "byte" and list(cache.iterdir()) == [cache / "enwik8.zip"]
    (root / "enwik8.zip").unlink()  # cached: the server's copy is no longer needed
    assert load_corpus(CorpusConfig(name="enwik8", data_dir=str(cache))).sha256 == corpus.sha256


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(server, tmp_path,
                                                                     monkeypatch):
    root, base = server
    (root / "enwik8.zip").write_bytes(zipped({"enwik8": b"something else"}))
    stand_in(monkeypatch, "enwik8", base, sha256={"enwik8.zip": sha(b"the real one")})
    cache = tmp_path / "cache"
    with pytest.raises(SeqlmError, match="expected .*discarded.*put enwik8.zip"):
        load_corpus(CorpusConfig(name="enwik8", data_dir=str(cache)))
    assert not any(cache.iterdir())


def test_text8_zip_unchecked_but_its_extracted_text_is(server, tmp_path, monkeypatch):
    root, base = server
    text = b"anarchism originated as a term of abuse"  # 39 characters
    (root / "text8.zip").write_bytes(zipped({"text8": text}))
    stand_in(monkeypatch, "text8", base, prefix=(30, 5, 4), member_size=len(text),
             member_sha256=sha(text))
    assert benchmarks.BENCHMARKS["text8"].remotes[0].sha256 is None  # none published
    corpus = load_corpus(CorpusConfig(name="text8", data_dir=str(tmp_path / "a")))
    assert corpus.splits == {"train": text[:30].decode(), "valid": text[30:35].decode(),
                             "test": text[35:].decode()}
    assert corpus.details["split_chars"] == [30, 35, 39]
    stand_in(monkeypatch, "text8", base, prefix=(30, 5, 4), member_size=len(text),
             member_sha256=sha(b"another text"))
    with pytest.raises(SeqlmError, match="extracted text8 has sha256"):
        load_corpus(CorpusConfig(name="text8", data_dir=str(tmp_path / "b")))
    stand_in(monkeypatch, "text8", base, prefix=(30, 5, 4), member_size=40)
    with pytest.raises(SeqlmError, match="39 bytes, not 40"):
        load_corpus(CorpusConfig(name="text8", data_dir=str(tmp_path / "a")))


PTB = {s: f" the <unk> of {s} \n a line \n".encode() for s in ("train", "valid", "test")}


def test_ptb_three_files_each_checked_and_unk_kept(server, tmp_path, monkeypatch):
    root, base = server
    for split, data in PTB.items():
        (root / f"ptb.{split}.txt").write_bytes(data)
    stand_in(monkeypatch, "ptb", base,
             sha256={f"ptb.{s}.txt": sha(d) for s, d in PTB.items()})
    corpus = load_corpus(CorpusConfig(name="ptb", data_dir=str(tmp_path / "cache")))
    assert corpus.splits == {s: d.decode() for s, d in PTB.items()}
    assert "<unk>" in corpus.text("train") and corpus.default_unit == "word"
    # the same files read from a local folder give the same corpus
    local = load_corpus(CorpusConfig(name="ptb", path=str(root)))
    assert local.sha256 == corpus.sha256
    (root / "ptb.valid.txt").write_bytes(b"changed\n")
    with pytest.raises(SeqlmError, match="ptb.valid.txt has sha256"):
        load_corpus(CorpusConfig(name="ptb", path=str(root)))


def test_wikitext2_members_read_from_the_archive_or_the_extracted_folder(server, tmp_path,
                                                                         monkeypatch):
    root, base = server
    members = {f"wikitext-2/wiki.{s}.tokens": f" = {s} = \n the <unk> @-@ x \n".encode()
               for s in ("train", "valid", "test")}
    archive = zipped(members)
    (root / "wikitext-2-v1.zip").write_bytes(archive)
    stand_in(monkeypatch, "wikitext2", base, sha256={"wikitext-2-v1.zip": sha(archive)})
    corpus = load_corpus(CorpusConfig(name="wikitext2", data_dir=str(tmp_path / "cache")))
    assert corpus.text("valid") == " = valid = \n the <unk> @-@ x \n"
    extracted = tmp_path / "wikitext-2"
    extracted.mkdir()
    for name, data in members.items():
        (extracted / name.split("/")[-1]).write_bytes(data)
    assert load_corpus(CorpusConfig(name="wikitext2", path=str(extracted))).splits == \
        corpus.splits
    assert load_corpus(CorpusConfig(name="wikitext2", path=str(tmp_path / "cache" /
                                                               "wikitext-2-v1.zip"))).sha256 \
        == corpus.sha256
    (root / "wikitext-2-v1.zip").write_bytes(zipped({"other/file": b"x"}))
    stand_in(monkeypatch, "wikitext2", base,
             sha256={"wikitext-2-v1.zip": sha((root / "wikitext-2-v1.zip").read_bytes())})
    with pytest.raises(SeqlmError, match="holds no wikitext-2/wiki.train.tokens"):
        load_corpus(CorpusConfig(name="wikitext2", data_dir=str(tmp_path / "other")))


def test_bad_input_gets_one_line_errors(tmp_path):
    with pytest.raises(SeqlmError, match="does not exist"):
        load_corpus(CorpusConfig(name="enwik8", path=str(tmp_path / "none")))
    with pytest.raises(SeqlmError, match="lacks ptb.train.txt"):
        load_corpus(CorpusConfig(name="ptb", path=str(tmp_path)))
    with pytest.raises(SeqlmError, match="valid_fraction .* standard split"):
        load_corpus(CorpusConfig(name="text8", valid_fraction=0.2, path=str(tmp_path)))
    with pytest.raises(SeqlmError, match="put text8.zip .* SEQLM_DATA_DIR"):
        benchmarks.fetch(dataclasses.replace(
            benchmarks.BENCHMARKS["text8"], remotes=(dataclasses.replace(
                benchmarks.BENCHMARKS["text8"].remotes[0], url="http://127.0.0.1:9/t.zip"),)),
            CorpusConfig(name="text8", data_dir=str(tmp_path / "cache")))


def test_every_registered_checksum_names_its_source():
    for bench in benchmarks.BENCHMARKS.values():
        for remote in bench.remotes:
            assert remote.sha256_source
            assert remote.sha256 is None or len(remote.sha256) == 64

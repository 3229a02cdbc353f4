"""report.html's compiled-template cache: used when it can be, never the loss of a page."""

import jinja2

from seqlm.config import CorpusConfig
from seqlm.report.html import REPORT, template_cache, write_report
from seqlm.runs.run import Run


def a_run(path):
    with Run("demo", CorpusConfig(name="verbs"), out=path, argv=["seqlm", "demo"]) as run:
        run.metrics["loss"] = 1.5
    return path


def test_the_page_is_the_same_with_a_cache_without_one_and_with_a_broken_one(
        tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # jinja2's cache folder goes here
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    run = a_run(tmp_path / "run")
    page = (run / REPORT).read_text()
    assert any((tmp_path / "tmp").glob("_jinja2-cache-*/__jinja2_*.cache"))  # written
    assert write_report(run).read_text() == page  # and read back: the same page
    monkeypatch.setattr("seqlm.report.html.template_cache", lambda: None)
    assert write_report(run).read_text() == page
    monkeypatch.undo()

    def full_disk(self, bucket):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", full_disk)
    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "load_bytecode", full_disk)
    assert isinstance(template_cache(), jinja2.BytecodeCache)
    assert write_report(run).read_text() == page

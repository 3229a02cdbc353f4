"""`python-stdlib` (this interpreter's standard library, no tests) and `file:DIR --include`."""

import platform

import pytest

from seqlm.config import CorpusConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.corpora import python_stdlib as stdlib
from seqlm.errors import SeqlmError


def test_standard_library_sources_in_sorted_order_without_tests():
    root = stdlib.stdlib_folder()
    files = stdlib.stdlib_files(root)
    if not files:
        pytest.skip("this Python ships without .py sources")
    rel = [p.relative_to(root) for p in files]
    assert rel == sorted(rel, key=lambda r: r.parts)
    assert all(r.suffix == ".py" for r in rel)
    assert not any(set(r.parts) & {"test", "tests", "idle_test", "site-packages"} for r in rel)
    assert {"os.py", "argparse.py"} <= {r.as_posix() for r in rel}


def test_manifest_identity_names_python_version_files_and_checksum():
    if not stdlib.stdlib_files(stdlib.stdlib_folder()):
        pytest.skip("this Python ships without .py sources")
    corpus = load_corpus(CorpusConfig(name="python-stdlib"))
    identity = corpus.identity()
    assert identity["python_version"] == platform.python_version()
    assert identity["files"] > 100 and len(identity["sha256"]) == 64
    assert "sorted" in identity["order"] and identity["source"] == str(stdlib.stdlib_folder())
    assert corpus.text("train").startswith(
        stdlib.stdlib_files(stdlib.stdlib_folder())[0].read_text(encoding="utf-8")[:200])


def test_no_sources_is_one_line_naming_file_dir(monkeypatch, tmp_path):
    (tmp_path / "os.pyc").write_bytes(b"\x00")
    monkeypatch.setattr(stdlib, "stdlib_folder", lambda: tmp_path)
    with pytest.raises(SeqlmError, match=r"no \.py sources.*--corpus file:DIR") as caught:
        load_corpus(CorpusConfig(name="python-stdlib"))
    assert "\n" not in str(caught.value)


def make_tree(root):
    for rel, text in {"src/a.c": "int a;\n", "src/b.h": "int b;\n", "src/c.o": "\x00",
                      "README": "read me\n", ".git/config": "[core]\n",
                      "src/.hidden.c": "x\n", "docs/notes.c": "int n;\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_file_dir_include_globs(tmp_path):
    make_tree(tmp_path)

    def read(include):
        return load_corpus(CorpusConfig(name=f"file:{tmp_path}", include=include,
                                        valid_fraction=0.0)).text("train")
    assert read(("*.c", "*.h")) == "int n;\nint a;\nint b;\n"  # docs/ sorts before src/
    assert read(("src/*",)) == "int a;\nint b;\n\x00\n"  # a relative path pattern
    assert "[core]" not in read(()) and "read me" in read(())  # hidden folders never
    with pytest.raises(SeqlmError, match=r"no files matching --include \*\.rs"):
        read(("*.rs",))


def test_include_on_the_command_line(tmp_path, cli):
    import json

    make_tree(tmp_path)
    result = cli("data", "show", "--corpus", f"file:{tmp_path}", "--include", "*.c, *.h", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chars"] == len("int n;\nint a;\nint b;\n")

"""`file:PATH`: any UTF-8 text file, or a folder of them read in sorted path order.

Decoding errors are reported with the file and byte offset; `encoding_errors="replace"`
reads on with U+FFFD instead. Leaves out: other encodings (convert with iconv first).
"""

from pathlib import Path

from seqlm.config import CorpusConfig
from seqlm.data.corpora import FILE_PREFIX, Corpus, sha256_text, split_by_fraction
from seqlm.errors import SeqlmError
from seqlm.progress import ProgressCallback


def read_text_file(path: Path, encoding_errors: str = "strict") -> str:
    """Read one UTF-8 file; a decoding error names the byte offset and the way around it."""
    if encoding_errors not in ("strict", "replace"):
        raise SeqlmError(f"encoding errors must be 'strict' or 'replace', got {encoding_errors!r}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as e:
        raise SeqlmError(
            f"{path} is not valid UTF-8 (byte {e.start}: {data[e.start:e.start + 1]!r}): "
            "convert it to UTF-8 or pass --encoding-errors replace"
        ) from None


def read_text_path(path: Path, encoding_errors: str = "strict") -> str:
    """A file's text, or the texts of every file below a folder joined in sorted order."""
    if not path.exists():
        raise SeqlmError(f"{path} does not exist: give the path of a UTF-8 text file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SeqlmError(f"folder {path} holds no files: put UTF-8 text files in it")
        parts = [read_text_file(p, encoding_errors) for p in files]
        return "".join(p if p.endswith("\n") else p + "\n" for p in parts)
    return read_text_file(path, encoding_errors)


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    path = Path(config.name[len(FILE_PREFIX):]).expanduser()
    text = read_text_path(path, config.encoding_errors)
    if not text.strip():
        raise SeqlmError(f"{path} is empty or whitespace only: give a file with text in it")
    return Corpus(
        name=config.name,
        splits=split_by_fraction(text, config.valid_fraction, config.test_fraction),
        sha256=sha256_text(text),
        source=str(path.resolve()),
        description=f"text from {path}",
        default_unit="char",
    )

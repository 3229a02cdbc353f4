"""`file:PATH`: any UTF-8 text file, or a folder of them read in sorted path order.

A folder is read whole: every file below it, sorted by its path relative to the folder
(component by component), each ending in a newline; files and folders whose name starts with a dot
(`.git`) are skipped. `include` (`--include '*.c,*.h'`) keeps only the files whose name or
relative path matches one of the glob patterns (`fnmatch`, case-sensitive), so a source tree
can be read without its binaries. Decoding errors are reported with the file and byte
offset; `encoding_errors="replace"` reads on with U+FFFD instead. Leaves out: other
encodings (convert with iconv first).
"""

import os
from fnmatch import fnmatchcase
from pathlib import Path

from seqlm.config import CorpusConfig
from seqlm.config.data import ENCODING_ERRORS
from seqlm.config.fields import check_range
from seqlm.data.corpora import FILE_PREFIX, Corpus, sha256_text, split_by_fraction
from seqlm.errors import SeqlmError
from seqlm.progress import ProgressCallback

# seqlm's neural LMs hold a corpus in memory (its text, ids and batches: about 32 bytes per
# character at the peak); a text file above this is refused before it is read
MAX_TEXT_BYTES = 256 * 2**20


def regular_file(path: Path, what: str = "text file", fix: str = "give a UTF-8 text file",
                 max_bytes: int | None = MAX_TEXT_BYTES) -> Path:
    """`path` if it is a regular file seqlm can read whole; else a SeqlmError saying what it
    is (missing, a folder, a FIFO or device, too large)."""
    if not path.exists():
        raise SeqlmError(f"{what} {path} does not exist: {fix}")
    if path.is_dir():
        raise SeqlmError(f"{what} {path} is a folder, not a file: {fix}")
    if not path.is_file():
        raise SeqlmError(f"{what} {path} is not a regular file (a FIFO, device or socket, "
                         f"which seqlm cannot read whole): {fix}")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SeqlmError(f"{what} {path} is {size / 2**20:,.0f} MiB, above the "
                         f"{max_bytes // 2**20} MiB seqlm reads into memory: use a part of it "
                         "(n-gram models read any size with `seqlm ngram train --memory`)")
    return path


def read_text_file(path: Path, encoding_errors: str = "strict") -> str:
    """Read one UTF-8 file; a decoding error names the byte offset and the way around it."""
    check_range("encoding_errors", encoding_errors, {"choices": ENCODING_ERRORS})
    data = regular_file(path).read_bytes()
    try:
        return data.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as e:
        raise SeqlmError(
            f"{path} is not valid UTF-8 (byte {e.start}: {data[e.start:e.start + 1]!r}): "
            "convert it to UTF-8 or pass --encoding-errors replace"
        ) from None


def source_files(folder: Path, include: tuple[str, ...] = (),
                 skip_folders: tuple[str, ...] = ()) -> list[Path]:
    """The files below `folder` in sorted relative-path order: hidden ones and those below a
    folder named in `skip_folders` left out, only those matching an `include` pattern kept
    if any are given."""
    files = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in skip_folders]
        for name in names:
            p = Path(top) / name
            rel = p.relative_to(folder).as_posix()
            if name.startswith(".") or not p.is_file():
                continue
            if include and not any(fnmatchcase(name, pat) or fnmatchcase(rel, pat)
                                   for pat in include):
                continue
            files.append(p)
    if sum(p.stat().st_size for p in files) > MAX_TEXT_BYTES:
        raise SeqlmError(f"the files below {folder} hold more than the {MAX_TEXT_BYTES // 2**20}"
                         " MiB seqlm reads into memory: narrow them with --include")
    return sorted(files, key=lambda p: p.relative_to(folder).parts)


def join_files(files: list[Path], encoding_errors: str = "strict") -> str:
    """The texts of `files` in the order given, each ending in a newline."""
    parts = [read_text_file(p, encoding_errors) for p in files]
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def read_text_path(path: Path, encoding_errors: str = "strict",
                   include: tuple[str, ...] = ()) -> str:
    """A file's text, or the texts of every (included) file below a folder joined in sorted
    order."""
    if not path.exists():
        raise SeqlmError(f"{path} does not exist: give the path of a UTF-8 text file or folder")
    if path.is_dir():
        files = source_files(path, include)
        if not files:
            wanted = f" matching --include {','.join(include)}" if include else ""
            raise SeqlmError(f"folder {path} holds no files{wanted}: put UTF-8 text files in "
                             "it" + (" or change --include" if include else ""))
        return join_files(files, encoding_errors)
    return read_text_file(path, encoding_errors)


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    path = Path(config.name[len(FILE_PREFIX):]).expanduser()
    text = read_text_path(path, config.encoding_errors, config.include)
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

"""`python-stdlib`: the `.py` sources of the running interpreter's standard library.

Real code with brackets, strings and indentation, on every machine and offline (the corpus of
Karpathy's char-RNN on source code, here Python instead of Linux's C). The folder is
`sysconfig.get_paths()["stdlib"]`; the files are every `*.py` below it, sorted by their path
relative to that folder (component by component, as `file:DIR` reads a folder), each ending
in a newline. Left out: the test suite (any folder named `test`, `tests` or `idle_test`:
`test/`, `unittest/test/`, `lib2to3/tests/`, `idlelib/idle_test/`, ...), `site-packages` (not
the standard library) and hidden files. The split is `file:`'s: the first 90% of characters
train, the rest validation (so validation is the alphabetically last modules). The manifest
records the Python version, the folder, the number of files and the sha256 of the text, which
differ between Python builds. An interpreter that ships without `.py` sources (some embedded
and distribution builds) gets a one-line error naming `file:DIR` as the way out.
Leaves out: C sources of the interpreter, other languages.
"""

import platform
import sysconfig
from pathlib import Path

from seqlm.config import CorpusConfig
from seqlm.data.corpora import Corpus, sha256_text, split_by_fraction
from seqlm.data.corpora.text import join_files, source_files
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report

EXCLUDED_FOLDERS = ("test", "tests", "idle_test", "site-packages")
ORDER = "sorted by path relative to the standard-library folder, component by component"


def stdlib_folder() -> Path:
    """Where the running interpreter keeps its standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path) -> list[Path]:
    """The `.py` files of the standard library below `root`, test suite left out, in the
    stated order."""
    if not root.is_dir():
        return []
    return source_files(root, ("*.py",), skip_folders=EXCLUDED_FOLDERS)


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    root = stdlib_folder()
    version = platform.python_version()
    files = stdlib_files(root)
    if not files:
        raise SeqlmError(f"Python {version} has no .py sources of its standard library at "
                         f"{root} (it ships compiled files only): use --corpus file:DIR with a "
                         "folder of Python sources, e.g. a CPython checkout's Lib")
    report(progress, Progress("python-stdlib", 0, len(files), unit="files"))
    text = join_files(files, config.encoding_errors)
    report(progress, Progress("python-stdlib", len(files), len(files), unit="files"))
    return Corpus(
        name="python-stdlib",
        splits=split_by_fraction(text, config.valid_fraction, config.test_fraction),
        sha256=sha256_text(text),
        source=str(root),
        description=f"the standard library of Python {version}: {len(files):,} .py files, "
                    f"{len(text) / 1e6:.1f} M characters, without its test suite",
        default_unit="char",
        details={"python_version": version,
                 "python_implementation": platform.python_implementation(),
                 "files": len(files), "order": ORDER,
                 "excluded_folders": list(EXCLUDED_FOLDERS)},
    )

"""Tiny Shakespeare: 40,000 lines of Shakespeare, 1,115,394 characters (Karpathy's char-rnn).

Found in this order: an explicit local `path`; `tinyshakespeare.txt` in `data_dir`,
`$SEQLM_DATA_DIR` or the user cache (`$XDG_CACHE_HOME/seqlm`, default `~/.cache/seqlm`);
else downloaded once from the char-rnn repository into that folder. Every copy is checked
against the published sha256. Standard split: first 90% of characters train, last 10%
validation (nanoGPT); `test_fraction` carves a test split off the end.
"""

import os
from pathlib import Path

from seqlm.config import CorpusConfig
from seqlm.data.corpora import Corpus, split_by_fraction
from seqlm.data.download import download, sha256_file
from seqlm.errors import SeqlmError
from seqlm.progress import ProgressCallback

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
FILENAME = "tinyshakespeare.txt"


def data_dir(explicit: str | None = None) -> Path:
    """Where downloaded corpora live: the argument, `$SEQLM_DATA_DIR`, or the user cache."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("SEQLM_DATA_DIR"):
        return Path(os.environ["SEQLM_DATA_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "seqlm"


def verified(path: Path) -> Path:
    actual = sha256_file(path)
    if actual != SHA256:
        raise SeqlmError(
            f"{path} has sha256 {actual}, not Tiny Shakespeare's {SHA256}: delete it to "
            "download a fresh copy, or use --corpus file:PATH for other text"
        )
    return path


def locate(config: CorpusConfig, url: str = URL, progress: ProgressCallback | None = None) -> Path:
    """The verified local file, downloading it into the data folder if it is not there."""
    if config.path:
        path = Path(config.path).expanduser()
        if not path.is_file():
            raise SeqlmError(f"{path} does not exist: give the path of tinyshakespeare.txt")
        return verified(path)
    folder = data_dir(config.data_dir)
    path = folder / FILENAME
    if path.is_file():
        return verified(path)
    try:
        return download(url, path, SHA256, progress)
    except SeqlmError as e:
        raise SeqlmError(
            f"Tiny Shakespeare is not in {folder} and {e}: put {FILENAME} (sha256 {SHA256}) "
            "in that folder, set SEQLM_DATA_DIR to a folder holding it, or pass --data-path FILE"
        ) from None


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    path = locate(config, progress=progress)
    text = path.read_text(encoding="utf-8")
    return Corpus(
        name="tinyshakespeare",
        splits=split_by_fraction(text, config.valid_fraction, config.test_fraction),
        sha256=SHA256,
        source=str(path),
        description="Tiny Shakespeare (char-rnn), first 90% train / last 10% valid",
        default_unit="char",
    )

"""Verified downloads: stream to a temporary file, hash while writing, keep only a match.

A file whose sha256 differs from the expected one is deleted, never left where a later run
would take it for valid. Progress goes to a callback. Leaves out: resuming partial downloads
(1 MB files do not need it), proxies beyond what urllib reads from the environment.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report

CHUNK = 1 << 16


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | None, progress: ProgressCallback | None = None,
             timeout: float = 30.0) -> Path:
    """Fetch `url` into `dest` if and only if its sha256 is `sha256`; `None` (no public
    checksum exists) keeps any file, and the caller checks what it extracts."""
    import urllib.error  # here, not at the top: only a download pays for urllib's import
    import urllib.request

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                report(progress, Progress(f"download {dest.name}", done, total, unit="B"))
        if sha256 is not None and digest.hexdigest() != sha256:
            raise SeqlmError(
                f"download from {url} has sha256 {digest.hexdigest()}, expected {sha256}: "
                "the file was discarded; try again, or place a verified copy by hand"
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise SeqlmError(f"could not download {url} ({e})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest

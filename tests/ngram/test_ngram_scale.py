"""Bounded-memory estimation: a budget small enough to force many spills gives the very bytes
of the in-memory path; the budget holds on a corpus that needs spilling; a budget too small or
a temp dir that cannot take the spill files is one line, and leaves no spill file behind."""

import errno
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import SRC
from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import spill
from seqlm.ngram.build import build
from seqlm.ngram.discounts import DiscountFallbackWarning


def zipf_text(tokens: int, types: int = 3000, seed: int = 0) -> str:
    """Zipf-distributed words in lines of 1-20 words, the benchmark's generator in small."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(types + 1)], dtype=object)
    ids = np.minimum(rng.zipf(1.3, size=tokens), types)
    ends = np.cumsum(rng.integers(1, 21, size=tokens // 5))
    seps = np.full(tokens, " ", dtype=object)
    seps[ends[ends <= tokens] - 1] = "\n"
    seps[-1] = "\n"
    pieces = np.empty(2 * tokens, dtype=object)
    pieces[0::2], pieces[1::2] = words[ids], seps
    return "".join(pieces.tolist())


CHAR_TEXT = "".join(f"the {c} sat on {d} mat, said {e}.\n" for c, d, e in zip(
    ["cat", "dog", "cow", "owl"] * 60, ["the", "a", "my", "her", "his"] * 48,
    ["anna", "bob", "carl"] * 80, strict=True))


def built(tmp_path: Path, name: str, text: str, memory: str | None, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        report = build(text, NgramConfig(memory=memory, temp_dir=str(tmp_path / "spill"),
                                          **config), arpa=tmp_path / f"{name}.arpa")
    return report, (tmp_path / f"{name}.arpa").read_bytes()


@pytest.mark.parametrize("unit,order", [("word", 1), ("word", 2), ("word", 3), ("word", 4),
                                        ("word", 5), ("char", 1), ("char", 3), ("char", 5)])
def test_spilled_estimation_writes_the_in_memory_arpa(tmp_path, unit, order):
    text = zipf_text(6000) if unit == "word" else CHAR_TEXT
    config = {"order": order, "unit": unit, "smoothing": "mkn"}
    _, in_memory = built(tmp_path, "memory", text, None, **config)
    report, spilled = built(tmp_path, "spilled", text, "64K", **config)
    assert report.memory["spilled"] and report.memory["spill_files"] > 5 * order
    assert spilled == in_memory
    assert not list((tmp_path / "spill").iterdir())  # the spill folder is gone


def test_spilled_pruned_float32_model_is_the_same_too(tmp_path):
    config = {"order": 4, "unit": "word", "smoothing": "mkn", "precision": "kenlm",
              "prune": (0, 1, 1)}
    _, in_memory = built(tmp_path, "memory", zipf_text(6000, seed=1), None, **config)
    _, spilled = built(tmp_path, "spilled", zipf_text(6000, seed=1), "64K", **config)
    assert spilled == in_memory


MEASURE = """
import json, sys
from pathlib import Path
from seqlm.config import NgramConfig
from seqlm.ngram.build import build
memory = sys.argv[2] if sys.argv[2] != "none" else None
report = build(Path(sys.argv[1]), NgramConfig(order=3, memory=memory, temp_dir=sys.argv[3]),
               arpa=Path(sys.argv[3]) / "out.arpa")
print(json.dumps(report.memory))
"""


def peak_above_start(corpus: Path, memory: str, tmp_path: Path) -> int:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(corpus), memory, str(tmp_path)],
                            env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    mem = json.loads(result.stdout)
    return mem["peak_rss_bytes"] - mem["rss_before_bytes"]


def test_the_budget_holds_on_a_corpus_that_needs_spilling(tmp_path):
    """A 300,000-token corpus trained at order 3 takes ~60 MB above the interpreter in memory;
    under --memory 4M the arrays stay within the budget, and what else is alive (the ~6,000-word
    vocabulary, the id stream of a piece, NumPy's scratch space) within the stated overhead."""
    corpus = tmp_path / "zipf.txt"
    corpus.write_text(zipf_text(300_000, types=6000))
    budget, overhead = 4 * 2**20, 16 * 2**20
    unbounded = peak_above_start(corpus, "none", tmp_path)
    bounded = peak_above_start(corpus, "4M", tmp_path)
    assert unbounded > budget + overhead  # without a budget this corpus would not fit it
    assert bounded < budget + overhead


def test_a_budget_too_small_names_the_minimum():
    with pytest.raises(SeqlmError, match="--memory 1K is too small to make progress: give at "
                                         "least 64K"):
        build("a b\n", NgramConfig(memory="1K"))
    with pytest.raises(SeqlmError, match="cannot read the memory size"):
        build("a b\n", NgramConfig(memory="lots"))
    with pytest.raises(SeqlmError, match="--memory works with Kneser-Ney"):
        build("a b\n", NgramConfig(memory="1M", smoothing="addk"))


def test_a_temp_dir_that_is_not_a_folder_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SeqlmError, match=f"{blocker} is not a folder: pass --temp-dir a folder"):
        build(zipf_text(20000), NgramConfig(order=3, memory="64K", temp_dir=str(blocker)))


def test_a_read_only_temp_dir_is_named(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):  # root may write anywhere, so the refusal is simulated
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(spill.Workspace, "make_folder", refuse)
    with pytest.raises(SeqlmError, match="is not writable: pass --temp-dir a writable folder"):
        build(zipf_text(20000), NgramConfig(order=3, memory="64K", temp_dir=str(tmp_path)))


def test_a_full_temp_dir_is_one_line_and_leaves_no_spill_files(tmp_path, monkeypatch):
    written = {"n": 0}
    real_append = spill.ColumnWriter.append

    class FullDisk:
        """A spill file on a disk that fills up part way through counting."""

        def __init__(self, file):
            self.file = file

        def write(self, data):
            written["n"] += 1
            if written["n"] > 40:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(data)

        def close(self):
            self.file.close()

    def append_until_full(self, values):
        if self.file is not None and not isinstance(self.file, FullDisk):
            self.file = FullDisk(self.file)
        return real_append(self, values)

    monkeypatch.setattr(spill.ColumnWriter, "append", append_until_full)
    with pytest.raises(SeqlmError, match=r"temp dir .* is full after .* of spill files: pass "
                                         r"--temp-dir a folder with more free space"):
        built(tmp_path, "full", zipf_text(20000), "64K", order=3)
    assert written["n"] > 40
    assert not list((tmp_path / "spill").iterdir())

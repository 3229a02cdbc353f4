"""The NumPy engine's ARPA lines in C (`seqlm.ngram.arpa_c`) against the NumPy reference:
byte-identical files on every ARPA-writable smoothing, orders 1-8, word/char/byte units,
pruning, KenLM precision and spilled runs; every kind of number alike (the ones the
reference formats in Python included); the fallback without a compiler (with its note), a
failed build, and a second process that loads the cached library without compiling."""

import json
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import SRC, run_cli
from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import arpa_c, build, byte_layout
from seqlm.ngram.arpa import write_lines
from seqlm.ngram.discounts import DiscountFallbackWarning

HAS_CC = shutil.which(os.environ.get("CC") or "cc") is not None
needs_cc = pytest.mark.skipif(not HAS_CC, reason="no C compiler")

TEXT = "".join(f"the {a} {v} the {b} .\n" for a, v, b in [
    ("cat", "sees", "dog"), ("dog", "sees", "cat"), ("cat", "eats", "fish"),
    ("bird", "sees", "fish"), ("dog", "eats", "bone"), ("cat", "sees", "bird"),
    ("cow", "eats", "grass"), ("owl", "sees", "the big mouse")] * 3) + "naïve café\tü\n\n"


@pytest.fixture(scope="module", autouse=True)
def kernel_dir(tmp_path_factory):
    """One private cache folder for the module: compiled once here, never in ~/.cache."""
    folder = tmp_path_factory.mktemp("kernels")
    saved = os.environ.get("SEQLM_KERNEL_DIR")
    os.environ["SEQLM_KERNEL_DIR"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("SEQLM_KERNEL_DIR", None)
    else:
        os.environ["SEQLM_KERNEL_DIR"] = saved


def both(tmp_path, text, **config) -> bytes:
    """The ARPA and binary files of the C writer and the reference, asserted equal."""
    out = {}
    for writer in ("numpy", "c"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiscountFallbackWarning)
            report = build(text, NgramConfig(engine="numpy", arpa_writer=writer, **config),
                           tmp_path / f"{writer}.arpa", tmp_path / f"{writer}.bin")
        assert report.info["arpa_writer"] == writer
        out[writer] = ((tmp_path / f"{writer}.arpa").read_bytes(),
                       (tmp_path / f"{writer}.bin").read_bytes())
    assert out["c"] == out["numpy"]
    return out["c"][0]


@needs_cc
@pytest.mark.parametrize("order", range(1, 9))
@pytest.mark.parametrize("unit", ["word", "char", "byte"])
@pytest.mark.parametrize("smoothing", ["mle", "kn", "mkn"])
def test_c_lines_write_the_reference_file(tmp_path, order, unit, smoothing):
    arpa = both(tmp_path, TEXT, order=order, unit=unit, smoothing=smoothing)
    assert arpa.count(b"-grams:\n") == order


@needs_cc
@pytest.mark.parametrize("config", [
    {"order": 4, "prune": (0, 0, 1)}, {"order": 5, "prune": (0, 1, 1), "unit": "char"},
    {"order": 3, "precision": "kenlm"}, {"order": 6, "precision": "kenlm", "unit": "byte"},
    {"order": 3, "prune": (0, 100, 100)},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_pruned_and_kenlm_precision_files_agree(tmp_path, config):
    both(tmp_path, TEXT, **config)


@needs_cc
def test_spilled_runs_write_the_same_files(tmp_path):
    """Blocks of a few hundred lines (a 64K budget): the C lines and the reference's agree
    block by block, and with an in-memory run."""
    words = [f"w{i}" for i in range(300)]
    rng = np.random.default_rng(0)
    text = "".join(" ".join(rng.choice(words, size=rng.integers(1, 12))) + "\n"
                   for _ in range(1000))
    spilled = both(tmp_path / "s", text, order=4, memory="64K", temp_dir=str(tmp_path / "t"))
    assert spilled == both(tmp_path / "m", text, order=4)


class Sink(list):
    """A file that keeps a copy of what is written (the C lines hand over views of a buffer
    that the next call writes again)."""

    def write(self, data) -> None:
        self.append(bytes(data))


def same_lines(values: np.ndarray, backoffs: np.ndarray | None, words: list[np.ndarray],
               tokens: list[bytes]) -> None:
    lines, _ = arpa_c.load("c")
    reference = Sink()
    write_lines(reference, values, backoffs, words, *byte_layout.token_matrix(tokens))

    def one_by_one(f, p, b, w):  # what arpa.block_writer hands lines NumPy formats in Python
        write_lines(f, p, b, w, *byte_layout.token_matrix(tokens))

    for threads in (1, 2, 3):  # stretches of lines formatted in threads, written in order
        ours = Sink()
        lines.write(ours, values, backoffs, words, byte_layout.token_blob(tokens), one_by_one,
                    threads)
        assert b"".join(ours) == b"".join(reference)


@needs_cc
def test_every_kind_of_number_is_formatted_alike():
    """Values the reference formats in bulk and one by one (|x| >= 1000, |x| < 1e-8), zeros,
    -0, -99, and 200,000 random float32 log10 values."""
    special = [0.0, -0.0, -99.0, -1e-9, 1e-12, -1234.5678, 1000.0, 999.99994, -0.1, 0.25,
               -7.0, 3.4e-5, -2.5e-8, 1e-8, -100.0, 12.5]
    rng = np.random.default_rng(1)
    values = np.concatenate([special, -rng.exponential(2.0, 200_000),
                             rng.normal(0, 1e-3, 1000)]).astype(np.float32)
    backoffs = np.where(rng.random(len(values)) < 0.3, 0, values[::-1]).astype(np.float32)
    tokens = [b"<unk>", b"<s>", b"</s>", b"a", "é".encode(), b"<sp>", b"x" * 300]
    words = [rng.integers(0, len(tokens), len(values)) for _ in range(3)]
    for b in (backoffs, None):
        same_lines(values, b, words, tokens)


@needs_cc
def test_values_beside_every_power_of_ten_agree():
    """The C code takes a value's decimal exponent from its binary one, where the reference
    takes NumPy's log10: the two can only part beside a power of ten, so every float32
    within 2**14 steps of each one in [1e-8, 1000) is written both ways (checked for every
    float32 of that range once: docs/ngram.md)."""
    steps = np.arange(-(1 << 14), 1 << 14, dtype=np.int64)
    near = [np.float32(10.0 ** e).view(np.int32).astype(np.int64) + steps for e in range(-8, 4)]
    values = np.concatenate(near).astype(np.int32).view(np.float32)
    values = -values[(values >= 1e-8) & (values < 1000)]
    same_lines(values, values[::-1].copy(), [np.zeros(len(values), np.int64)], [b"w"])


@needs_cc
def test_a_failing_stretch_is_raised_not_lost(monkeypatch):
    """What a thread formatting the second stretch raises reaches the caller: no file is
    written without its lines."""
    lines, _ = arpa_c.load("c")

    def broken(self, block, first, last, fresh):
        if first > 0:
            raise MemoryError("the second stretch")
        yield from self.__class__.pieces_before(self, block, first, last, fresh)

    monkeypatch.setattr(arpa_c.CLines, "pieces_before", arpa_c.CLines.pieces, raising=False)
    monkeypatch.setattr(arpa_c.CLines, "pieces", broken)
    values = np.full(4 * arpa_c.MIN_THREAD_LINES, -1.5, dtype=np.float32)
    with pytest.raises(MemoryError, match="the second stretch"):
        lines.write(Sink(), values, None, [np.zeros(len(values), np.int64)],
                    byte_layout.token_blob([b"w"]), None, threads=2)


def test_without_a_compiler_numpy_writes_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLM_KERNEL_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("CC", "no-such-cc-seqlm")
    lines, note = arpa_c.load("auto")
    assert lines is None and note == ("ARPA lines written by NumPy: no C compiler "
                                      "('no-such-cc-seqlm' not found)")
    assert arpa_c.load("numpy") == (None, None)
    with pytest.raises(SeqlmError, match="--arpa-writer c: no C compiler"):
        arpa_c.load("c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        report = build(TEXT, NgramConfig(order=3, engine="numpy"), tmp_path / "m.arpa")
    assert report.info["arpa_writer"] == "numpy"
    assert report.info["arpa_writer_note"] == note
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_a_failed_build_falls_back_and_names_the_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLM_KERNEL_DIR", str(tmp_path / "k"))
    monkeypatch.setenv("CC", "false")  # found, and fails
    if shutil.which("false") is None:
        pytest.skip("no `false` command")
    lines, note = arpa_c.load("auto")
    assert lines is None and note.startswith("ARPA lines written by NumPy: false failed on "
                                             "arpa_lines.c")
    assert not any((tmp_path / "k").iterdir())  # no half-written library left behind


@needs_cc
def test_a_read_only_cache_falls_back_with_a_note(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SEQLM_KERNEL_DIR", str(blocked / "kernels"))
    lines, note = arpa_c.load("auto")
    assert lines is None and note.startswith(f"ARPA lines written by NumPy: cannot write to "
                                             f"{blocked / 'kernels'}")


def test_the_cli_refuses_c_without_a_compiler_in_one_line(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    out = run_cli("ngram", "train", "--text-file", str(text), "--arpa-writer", "c",
                  "--out", str(tmp_path / "run"),
                  env={"CC": "no-such-cc-seqlm", "SEQLM_KERNEL_DIR": str(tmp_path / "k")})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "seqlm: error: --arpa-writer c: no C compiler ('no-such-cc-seqlm' not found); install "
        "a C compiler (or set CC), or use --arpa-writer auto or numpy"]


LOAD = """
import json, sys
from seqlm.ngram import arpa_c
lines, note = arpa_c.load("auto")
print(json.dumps({"loaded": lines is not None, "note": note}))
"""


@needs_cc
def test_a_second_process_loads_the_library_without_compiling(tmp_path):
    """The first process compiles into the cache; the second finds it there: with no
    compiler on its path at all it still loads the C lines."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "SEQLM_KERNEL_DIR": str(tmp_path / "k")}
    first = subprocess.run([sys.executable, "-c", LOAD], env=env, capture_output=True,
                           text=True, check=True)
    assert json.loads(first.stdout) == {"loaded": True, "note": None}
    built = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert len(built) == 1 and built[0].startswith("seqlm_arpa_lines_")
    second = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True,
                            env={**env, "CC": "no-such-cc-seqlm"}, check=True)
    assert json.loads(second.stdout) == {"loaded": True, "note": None}
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == built

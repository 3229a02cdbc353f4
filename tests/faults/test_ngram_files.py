"""n-gram files and options at their limits, by case class: every file seqlm reads (ARPA,
binary) truncated, bit-flipped and header-mangled; `--prune`, `--memory`, long lines and
endless inputs. Each case ends in one `seqlm: error:` line with exit 2, or (where the damaged
file is still a valid model: a flipped digit of an ARPA number) in a finite result, never a
traceback, a NaN or a number read from damaged bytes."""

import json
import math
import re
import signal
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from faults.conftest import assert_one_line_error, spawn
from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import binary as binary_module
from seqlm.ngram import build, fit, read_arpa
from seqlm.ngram.binary import load_binary
from seqlm.ngram.budget import MemoryBudget, minimum_bytes
from seqlm.ngram.discounts import DiscountFallbackWarning

TRAIN = "".join(f"the {a} {v} the {b} .\n" for a, v, b in [
    ("cat", "sees", "dog"), ("dog", "sees", "cat"), ("cat", "eats", "fish"),
    ("bird", "sees", "fish"), ("dog", "eats", "bone"), ("cat", "sees", "bird"),
    ("cow", "eats", "grass"), ("owl", "sees", "mouse")] * 4) + "naïve café\n"
SCORED = "the cat sees the fish .\nthe owl eats a zebra\n"
EVAL = ["ngram", "eval"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 3-gram model of TRAIN as an ARPA file, a float binary and a quantised binary."""
    folder = tmp_path_factory.mktemp("ngram-files")
    (folder / "scored.txt").write_text(SCORED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        build(TRAIN, NgramConfig(order=3), folder / "m.arpa", folder / "m.bin")
        build(TRAIN, NgramConfig(order=3, prob_bits=8, backoff_bits=4), None, folder / "q.bin")
    return folder


def header_of(data: bytes) -> tuple[dict, int]:
    size = int(np.frombuffer(data, dtype="<u4", count=1, offset=8)[0])
    return json.loads(data[16:16 + size]), size


def with_header(data: bytes, header: dict, size: int) -> bytes:
    """`data` with a new header, its checksum recomputed (an edit made on purpose)."""
    text = json.dumps(header).encode().ljust(size)
    crc = np.uint32(zlib.crc32(text)).tobytes()
    return data[:8] + np.uint32(len(text)).tobytes() + crc + text + data[16 + size:]


def eval_binary(seqlm, folder: Path, data: bytes, *extra: str) -> tuple[int, str, str]:
    (folder / "x.bin").write_bytes(data)
    (folder / "scored.txt").write_text(SCORED)
    return seqlm(*EVAL, "--binary", str(folder / "x.bin"), "--text-file",
                 str(folder / "scored.txt"), "--out", str(folder / "run"), "--overwrite", *extra)


# --- binary: truncated, flipped, header-edited -------------------------------------------

CUTS = [0, 5, 8, 12, 16, 200, 4111, 4112, 4200, 0.5, -64, -1]


@pytest.mark.parametrize("cut", CUTS)
def test_a_truncated_binary_is_one_line(seqlm, files, tmp_path, cut):
    good = (files / "m.bin").read_bytes()
    end = int(cut * len(good)) if isinstance(cut, float) else cut % len(good) if cut < 0 else cut
    code, _, err = eval_binary(seqlm, tmp_path, good[:end])
    assert_one_line_error(code, err, EVAL, "x.bin")


def array_offsets(data: bytes) -> dict[str, int]:
    """The first and the last byte of every non-empty array."""
    header, _ = header_of(data)
    out = {}
    for name, s in header["arrays"].items():
        nbytes = np.dtype(s["dtype"]).itemsize * s["length"]
        if nbytes:
            out[f"{name}[0]"], out[f"{name}[-1]"] = s["offset"], s["offset"] + nbytes - 1
    return out


@pytest.mark.parametrize("model", ["m.bin", "q.bin"])
def test_every_flipped_bit_of_header_and_arrays_is_refused(files, tmp_path, model):
    """Bits 0 (a mantissa's lowest) and 7 (a float's sign, in its last byte) of the magic,
    size, checksum, header text and the first and last byte of every array."""
    good = (files / model).read_bytes()
    places = {"magic": 0, "version": 7, "size": 8, "crc": 12, "header{": 16, "header-mid": 400,
              **array_offsets(good)}
    ref = load_binary(files / model).perplexity(SCORED).perplexity
    assert math.isfinite(ref)
    for where, offset in places.items():
        for bit in (0, 7):
            data = bytearray(good)
            data[offset] ^= 1 << bit
            (tmp_path / "x.bin").write_bytes(data)
            with pytest.raises(SeqlmError, match="x.bin") as e:
                load_binary(tmp_path / "x.bin")
            assert "\n" not in str(e.value), (where, bit)
    assert len(places) > 20


def test_a_flipped_float_in_a_big_binary_is_caught_by_verify(seqlm, files, tmp_path,
                                                             monkeypatch):
    """Above VERIFY_BYTES a file loads unverified (milliseconds); --verify checks it."""
    good = (files / "m.bin").read_bytes()
    header, _ = header_of(good)
    data = bytearray(good)
    data[header["arrays"]["prob2"]["offset"] + 3] ^= 0x80  # the sign of the first 2-gram's p
    monkeypatch.setattr(binary_module, "VERIFY_BYTES", 0)
    code, out, err = eval_binary(seqlm, tmp_path, bytes(data))
    assert code == 0 and "Perplexity" in out, err  # unverified: what the bytes say
    code, _, err = eval_binary(seqlm, tmp_path, bytes(data), "--verify")
    assert_one_line_error(code, err, EVAL, "array prob2 fails its checksum")
    code, _, _ = eval_binary(seqlm, tmp_path, good, "--verify")
    assert code == 0


def edits():
    """(name, edit of the header dict) pairs: each makes a header seqlm never writes."""
    def put(path, value):
        def edit(h):
            node = h
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return edit

    def drop(path):
        def edit(h):
            node = h
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
        return edit

    return [
        ("order 9", put(["order"], 9)), ("order 0", put(["order"], 0)),
        ("order text", put(["order"], "3")), ("order true", put(["order"], True)),
        ("order 2", put(["order"], 2)), ("unit", put(["unit"], "syllable")),
        ("precision", put(["precision"], "half")), ("smoothing", put(["smoothing"], 7)),
        ("format", put(["format"], "other")), ("counts short", put(["counts"], [10, 5])),
        ("counts negative", put(["counts", 1], -1)), ("counts off", put(["counts", 1], 3)),
        ("counts text", put(["counts", 0], "12")), ("no counts", drop(["counts"])),
        ("no arrays", drop(["arrays"])), ("array missing", drop(["arrays", "keys2"])),
        ("array extra", put(["arrays", "keys9"], {"offset": 0, "dtype": "<i8", "length": 0,
                                                  "crc32": "00000000"})),
        ("dtype", put(["arrays", "prob1", "dtype"], "<f8")),
        ("dtype object", put(["arrays", "keys1", "dtype"], "|O")),
        ("offset unaligned", put(["arrays", "keys1", "offset"], 4161)),
        ("offset in header", put(["arrays", "vocab_blob", "offset"], 0)),
        ("offset far", put(["arrays", "prob3", "offset"], 1 << 40)),
        ("length", put(["arrays", "prob3", "length"], 10 ** 12)),
        ("length negative", put(["arrays", "keys3", "length"], -1)),
        ("crc type", put(["arrays", "keys3", "crc32"], 5)),
        ("quantization", put(["quantization"], {"prob": [None], "backoff": []})),
        ("bits", put(["quantization", "prob", 0], {"bits": 40, "bins": 3})),
    ]


@pytest.mark.parametrize("name, edit", edits(), ids=[e[0] for e in edits()])
def test_an_edited_header_with_a_good_checksum_is_refused(seqlm, files, tmp_path, name, edit):
    good = (files / "m.bin").read_bytes()
    header, size = header_of(good)
    edit(header)
    code, _, err = eval_binary(seqlm, tmp_path, with_header(good, header, size))
    assert_one_line_error(code, err, EVAL, "is a damaged binary model")


@pytest.mark.parametrize("text", [b"not json" + b" " * 100, b"[1, 2, 3]", b"\xff\xfe{}",
                                  b'{"format": "seqlm n-gram binary"}'])
def test_a_header_that_is_not_a_model_description_is_refused(seqlm, files, tmp_path, text):
    good = (files / "m.bin").read_bytes()
    _, size = header_of(good)
    crc = np.uint32(zlib.crc32(text.ljust(size))).tobytes()
    data = good[:8] + np.uint32(size).tobytes() + crc + text.ljust(size) + good[16 + size:]
    code, _, err = eval_binary(seqlm, tmp_path, data)
    assert_one_line_error(code, err, EVAL, "is a damaged binary model")


def test_a_version_1_binary_is_refused_with_the_rebuild_command(seqlm, files, tmp_path):
    good = (files / "m.bin").read_bytes()
    code, _, err = eval_binary(seqlm, tmp_path, b"SEQLMNG\x01" + good[8:])
    assert_one_line_error(code, err, EVAL, "version 1 seqlm binary model")
    assert "seqlm ngram build --arpa FILE --out model.bin" in err


def test_a_bad_vocabulary_with_good_checksums_is_refused(files, tmp_path):
    """Offsets past the blob: what a hand-made file could hold (the checksums recomputed)."""
    good = bytearray((files / "m.bin").read_bytes())
    header, size = header_of(bytes(good))
    spec = header["arrays"]["vocab_offsets"]
    offsets = np.frombuffer(good, dtype="<i8", count=spec["length"], offset=spec["offset"]).copy()
    offsets[-1] += 100
    good[spec["offset"]:spec["offset"] + offsets.nbytes] = offsets.tobytes()
    spec["crc32"] = f"{zlib.crc32(offsets.tobytes()) & 0xFFFFFFFF:08x}"
    (tmp_path / "x.bin").write_bytes(with_header(bytes(good), header, size))
    with pytest.raises(SeqlmError, match="vocabulary's offsets"):
        load_binary(tmp_path / "x.bin")


# --- ARPA: truncated, flipped, header-mangled --------------------------------------------

def arpa_outcome(path: Path) -> str:
    try:
        p = read_arpa(path).perplexity(SCORED).perplexity
    except SeqlmError as e:
        assert "\n" not in str(e)
        return "refused"
    assert math.isfinite(p)
    return "read"


def test_a_truncated_or_flipped_arpa_file_is_refused_or_read_never_a_traceback(files, tmp_path):
    """100 cuts and 70 bytes with bits 0, 4 and 7 flipped, evenly spread (310 files)."""
    good = (files / "m.arpa").read_bytes()
    outcomes = []
    for cut in np.linspace(0, len(good) - 1, 100).astype(int).tolist():
        (tmp_path / "x.arpa").write_bytes(good[:cut])
        outcomes.append(arpa_outcome(tmp_path / "x.arpa"))
    for offset in np.linspace(0, len(good) - 1, 70).astype(int).tolist():
        for bit in (0, 4, 7):
            data = bytearray(good)
            data[offset] ^= 1 << bit
            (tmp_path / "x.arpa").write_bytes(data)
            outcomes.append(arpa_outcome(tmp_path / "x.arpa"))
    assert len(outcomes) > 300 and outcomes.count("refused") > len(outcomes) / 2


@pytest.mark.parametrize("old, new", [
    ("ngram 1=", "ngram 1=x"), ("ngram 2=", "ngram 2=-"), ("\\data\\", "\\dada\\"),
    ("ngram 3=", "ngram 4="), ("\\2-grams:", "\\3-grams:"), ("\\end\\", ""),
    ("ngram 1=", "ngram 1=9"),
])
def test_a_mangled_arpa_header_is_one_line(seqlm, files, tmp_path, old, new):
    (tmp_path / "x.arpa").write_text((files / "m.arpa").read_text().replace(old, new, 1))
    code, _, err = seqlm(*EVAL, "--arpa", "x.arpa", "--text-file", str(files / "scored.txt"),
                         "--out", "e")
    assert_one_line_error(code, err, EVAL, "x.arpa")


# --- empty orders: what --prune can write, and KenLM reads -------------------------------

@pytest.mark.parametrize("prune", [["0", "1000000", "1000000"], ["0", "9" * 20]])
def test_pruning_everything_writes_files_seqlm_and_kenlm_read(seqlm, tmp_path, prune):
    (tmp_path / "t.txt").write_text(TRAIN)
    code, out, err = seqlm("ngram", "train", "--text-file", "t.txt", "--order", "3", "--arpa",
                           "p.arpa", "--binary", "p.bin", "--prune", *prune, "--out", "r",
                           "--json")
    assert code == 0, err
    assert json.loads(out)["counts"][1:] == [0, 0]
    assert "ngram 2=0\nngram 3=0\n" in (tmp_path / "p.arpa").read_text()
    ours = read_arpa(tmp_path / "p.arpa", precision="kenlm").perplexity(SCORED)
    mapped = load_binary(tmp_path / "p.bin").perplexity(SCORED)
    assert mapped.perplexity == pytest.approx(ours.perplexity, rel=1e-6)
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(tmp_path / "p.arpa"))
    log10 = sum(theirs.score(line) for line in SCORED.splitlines())
    assert -ours.nll_nats / math.log(10) == pytest.approx(log10, abs=1e-4)


def test_an_arpa_file_with_empty_higher_orders_is_read(tmp_path):
    (tmp_path / "e.arpa").write_text(
        "\\data\\\nngram 1=4\nngram 2=0\nngram 3=0\n\n\\1-grams:\n-1\t<unk>\t0\n-99\t<s>\t0\n"
        "-0.5\t</s>\t0\n-0.3\ta\t0\n\n\\2-grams:\n\n\\3-grams:\n\n\\end\\\n")
    model = read_arpa(tmp_path / "e.arpa")
    assert model.sizes() == [4, 0, 0]
    assert model.perplexity("a a\n").tokens == 3


@pytest.mark.parametrize("text", ["\n", "\n\n\n", "<s> </s>\n<unk>\n"])
def test_a_training_text_without_words_is_one_line(seqlm, tmp_path, text):
    (tmp_path / "t.txt").write_text(text)
    code, _, err = seqlm("ngram", "train", "--text-file", "t.txt", "--order", "3", "--out", "r")
    assert_one_line_error(code, err, ["ngram", "train"], "has no words")


def test_short_sentences_with_a_high_order_train(seqlm, tmp_path):
    """Sentences too short to hold an n-gram of the top orders: those orders are empty."""
    (tmp_path / "t.txt").write_text("a\nb c\n")
    code, out, err = seqlm("ngram", "train", "--text-file", "t.txt", "--order", "6", "--out",
                           "r", "--json", "--arpa", "s.arpa")
    assert code == 0, err
    assert json.loads(out)["counts"][4:] == [0, 0]
    assert read_arpa(tmp_path / "s.arpa").order == 6


# --- --memory at its limits ---------------------------------------------------------------

def test_a_budget_below_the_computed_minimum_is_refused_naming_it(seqlm, tmp_path):
    lines = "".join(f"w{i % 500} w{i % 7} w{i % 11} w{i % 13}\n" for i in range(40_000))
    (tmp_path / "t.txt").write_text(lines)  # 240,000 tokens: needs ~440K
    need = minimum_bytes(240_000)
    assert MemoryBudget(need).token_limit() >= 240_000 > MemoryBudget(need // 2).token_limit()
    code, _, err = seqlm("ngram", "train", "--text-file", "t.txt", "--memory", "64K", "--out",
                         "r", "--temp-dir", "spill")
    line = assert_one_line_error(code, err, ["ngram", "train"], "give --memory")
    assert re.search(r"--memory 64K is too small for a text of about 24\d,\d{3} tokens", line)
    # refused while reading, before any sorted run was spilled or merged (no time asserted)
    assert not list((tmp_path / "spill").iterdir())


@pytest.mark.parametrize("memory, needle", [("63K", "give at least 64K"),
                                            ("0", "give at least 64K"),
                                            ("-5M", "cannot read the memory size"),
                                            ("1e9", "cannot read the memory size")])
def test_a_memory_size_that_cannot_work_is_one_line(seqlm, tmp_path, memory, needle):
    (tmp_path / "t.txt").write_text(TRAIN)
    code, _, err = seqlm("ngram", "train", "--text-file", "t.txt", f"--memory={memory}",
                         "--out", "r")
    assert_one_line_error(code, err, ["ngram", "train"], needle)


def test_a_line_longer_than_the_budget_holds_is_one_line(seqlm, tmp_path):
    (tmp_path / "t.txt").write_text("a b\n" + "x" * 300_000 + "\nc\n")
    code, _, err = seqlm("ngram", "train", "--text-file", "t.txt", "--unit", "char", "--memory",
                         "1M", "--out", "r", "--temp-dir", "spill")
    line = assert_one_line_error(code, err, ["ngram", "train"], "line 2 of the training text")
    assert "larger --memory" in line
    assert not (tmp_path / "spill").exists() or not list((tmp_path / "spill").iterdir())


@pytest.mark.parametrize("args, needle", [
    (["--corpus", "file:/dev/zero"], "not a regular file"),
    (["--text-file", "/dev/zero"], "is not a file"),
])
def test_endless_inputs_are_refused(seqlm, tmp_path, args, needle):
    code, _, err = seqlm("ngram", "train", *args, "--out", "r")
    assert_one_line_error(code, err, ["ngram", "train"], needle)


def test_a_file_corpus_past_the_budget_is_sent_to_text_file(seqlm, tmp_path):
    (tmp_path / "big.txt").write_text(TRAIN * 200)
    code, _, err = seqlm("ngram", "train", "--corpus", "file:big.txt", "--memory", "64K",
                         "--out", "r")
    assert_one_line_error(code, err, ["ngram", "train"], "give --text-file big.txt instead")


class Interrupt:
    """A progress callback that raises KeyboardInterrupt (what SIGINT, and the CLI's SIGTERM
    handler, raise) at the n-th event of a stage."""

    def __init__(self, stage: str, n: int):
        self.stage, self.n, self.seen = stage, n, 0

    def __call__(self, event) -> None:
        if event.task == self.stage:
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt


@pytest.mark.parametrize("stage, n", [("read", 30), ("count", 3), ("merge", 2), ("estimate", 2),
                                      ("write ARPA", 1), ("write binary", 5)])
def test_an_interrupt_at_any_stage_removes_the_spill_folder(tmp_path, stage, n):
    text = "".join(f"w{i % 300} w{i % 7} w{i % 11} w{i % 13}\n" for i in range(6000))
    spill = tmp_path / "spill"
    config = NgramConfig(order=3, memory="128K", temp_dir=str(spill))
    stop = Interrupt(stage, n)
    with pytest.raises(KeyboardInterrupt):
        build(text, config, tmp_path / "m.arpa", tmp_path / "m.bin", progress=stop)
    assert stop.seen == n
    assert spill.is_dir() and not list(spill.iterdir())
    assert not (tmp_path / "m.bin").exists() and not list(tmp_path.glob(".*.tmp"))


def test_sigint_during_a_spilling_train_removes_the_spill_folder(tmp_path):
    (tmp_path / "t.txt").write_text("".join(f"w{i % 997} w{i % 13} w{i % 101}\n"
                                            for i in range(60_000)))
    spill = tmp_path / "spill"
    spill.mkdir()
    proc = spawn("ngram", "train", "--text-file", "t.txt", "--order", "4", "--memory", "2M",
                 "--temp-dir", "spill", "--out", "r", "--quiet", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not any(spill.rglob("*.bin")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not list(spill.iterdir())


def test_the_spill_folder_of_a_killed_train_goes_with_the_next_one(tmp_path):
    """SIGKILL skips every cleanup; the next spilling run removes the dead process's folder."""
    (tmp_path / "t.txt").write_text("".join(f"w{i % 997} w{i % 13} w{i % 101}\n"
                                            for i in range(60_000)))
    spill = tmp_path / "spill"
    spill.mkdir()
    args = ("ngram", "train", "--text-file", "t.txt", "--order", "4", "--memory", "2M",
            "--temp-dir", "spill", "--quiet")
    proc = spawn(*args, "--out", "r", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not any(spill.rglob("*.bin")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=60)
    (left,) = spill.iterdir()
    assert left.name.startswith(f"seqlm-ngram-{proc.pid}-")
    again = spawn(*args, "--out", "r2", "--order", "2", cwd=tmp_path)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert not list(spill.iterdir())


def test_fit_reads_a_model_from_text_of_empty_lines():
    """The library (not the CLI) still fits the degenerate text, as it always did."""
    model = fit("\n\n", NgramConfig(order=2, smoothing="mle"))
    assert model.sizes()[1] == 1

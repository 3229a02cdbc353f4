"""The compiled engine against the NumPy reference: byte-identical ARPA and binary files on
every ARPA-writable smoothing, orders 1-8, 10 and 16, word/char/byte units, pruning, KenLM
precision and spilled runs; which engine ran is visible; a second process compiles nothing."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import SRC, run_cli_json
from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import build, byte_layout
from seqlm.ngram.arpa import write_lines
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.engine import resolve

pytest.importorskip("numba")

TEXT = "".join(f"the {a} {v} the {b} .\n" for a, v, b in [
    ("cat", "sees", "dog"), ("dog", "sees", "cat"), ("cat", "eats", "fish"),
    ("bird", "sees", "fish"), ("dog", "eats", "bone"), ("cat", "sees", "bird"),
    ("cow", "eats", "grass"), ("owl", "sees", "the big mouse")] * 3) + "naïve café\tü\n\n"


def both(tmp_path, text, **config) -> tuple[bytes, bytes, object]:
    """The ARPA and binary files of both engines, asserted equal; the numba build's report."""
    out = {}
    for engine in ("numpy", "numba"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiscountFallbackWarning)
            report = build(text, NgramConfig(engine=engine, **config),
                           tmp_path / f"{engine}.arpa", tmp_path / f"{engine}.bin")
        assert report.info["engine"] == engine
        out[engine] = ((tmp_path / f"{engine}.arpa").read_bytes(),
                       (tmp_path / f"{engine}.bin").read_bytes(), report)
    assert out["numba"][0] == out["numpy"][0]
    assert out["numba"][1] == out["numpy"][1]
    return out["numba"]


@pytest.mark.parametrize("order", range(1, 9))
@pytest.mark.parametrize("unit", ["word", "char", "byte"])
@pytest.mark.parametrize("smoothing", ["mle", "kn", "mkn"])
def test_both_engines_write_the_same_files(tmp_path, order, unit, smoothing):
    arpa, _, _ = both(tmp_path, TEXT, order=order, unit=unit, smoothing=smoothing)
    assert arpa.count(b"-grams:\n") == order


@pytest.mark.parametrize("config", [
    {"order": 4, "prune": (0, 0, 1)}, {"order": 5, "prune": (0, 1, 1), "unit": "char"},
    {"order": 3, "precision": "kenlm"}, {"order": 6, "precision": "kenlm", "unit": "char"},
    {"order": 3, "prune": (0, 100, 100)},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_pruned_and_kenlm_precision_files_agree(tmp_path, config):
    both(tmp_path, TEXT, **config)


@pytest.mark.parametrize("order", [10, 16])
def test_long_character_models_agree_in_memory_and_spilled(tmp_path, order):
    """Orders past KenLM's default build (6): both engines, and a spilled run, write the same
    files as an in-memory one."""
    text = TEXT * 4
    arpa, binary, _ = both(tmp_path, text, order=order, unit="char", smoothing="mkn")
    assert arpa.count(b"-grams:\n") == order
    spilled, _, report = both(tmp_path / "s", text, order=order, unit="char", smoothing="mkn",
                              memory="64K", temp_dir=str(tmp_path / "spill"))
    assert report.memory["spilled"] and spilled == arpa


def test_spilled_runs_write_the_same_files(tmp_path):
    words = [f"w{i}" for i in range(400)]
    rng = np.random.default_rng(0)
    text = "".join(" ".join(rng.choice(words, size=rng.integers(1, 12))) + "\n"
                   for _ in range(1500))
    _, _, report = both(tmp_path, text, order=4, memory="64K", temp_dir=str(tmp_path / "spill"),
                        prune=(0, 0, 1))
    assert report.memory["spilled"] and report.memory["spill_files"] > 10


def test_every_kind_of_number_is_formatted_alike():
    """Values the reference formats in bulk and one by one (|x| >= 1000, |x| < 1e-8), zeros,
    -0, -99 and 200,000 random float32 log10 values."""
    from seqlm.ngram.compiled import arpa_block, token_blob

    special = [0.0, -0.0, -99.0, -1e-9, 1e-12, -1234.5678, 1000.0, 999.99994, -0.1, 0.25,
               -7.0, 3.4e-5, -2.5e-8, 1e-8, -100.0, 12.5]
    rng = np.random.default_rng(1)
    values = np.concatenate([special, -rng.exponential(2.0, 200_000),
                             rng.normal(0, 1e-3, 1000)]).astype(np.float32)
    backoffs = np.where(rng.random(len(values)) < 0.3, 0, values[::-1]).astype(np.float32)
    tokens = [b"<unk>", b"<s>", b"</s>", b"a", "é".encode(), b"<sp>"]
    words = [rng.integers(0, len(tokens), len(values)) for _ in range(2)]
    matrix, lengths = byte_layout.token_matrix(tokens)

    class Sink(list):
        write = list.append

    for b in (backoffs, None):
        reference = Sink()
        write_lines(reference, values, b, words, matrix, lengths)
        assert arpa_block(values, b, words, token_blob(tokens)) == b"".join(reference)
        for threads in (2, 3):  # stretches of lines formatted in threads, joined in order
            assert arpa_block(values, b, words, token_blob(tokens), threads) == \
                b"".join(reference)


def test_which_engine_ran_is_recorded(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    ran = {}
    for engine in ("auto", "numpy", "numba"):
        out = run_cli_json("ngram", "train", "--text-file", str(text), "--engine", engine,
                           "--out", str(tmp_path / engine))
        ran[engine] = out["engine"]
        manifest = json.loads((tmp_path / engine / "manifest.json").read_text())
        assert manifest["metrics"]["engine"] == out["engine"]
    assert ran == {"auto": "numpy", "numpy": "numpy", "numba": "numba"}  # auto: a small text
    assert resolve("auto", 10**8, NgramConfig.compiled_min_tokens) == "numba"
    with pytest.raises(SeqlmError, match="engine = 'fortran' is not a choice"):
        resolve("fortran", 1, 1)


CACHED = """
import json, pathlib, tempfile, warnings, numpy as np
from seqlm.config import NgramConfig
from seqlm.ngram import build, compiled, compiled_count, compiled_score, compiled_tables
from seqlm.ngram import compiled_estimate, compiled_merge, compiled_reading, compiled_text, fit
warnings.simplefilter("ignore")
text = "".join(f"w{i % 97} w{i % 13} w{i % 7}\\n" for i in range(3000))
with tempfile.TemporaryDirectory() as d:  # counted in spilled runs, merged: compiled_count
    report = build(text, NgramConfig(order=3, engine="numba", memory="64K", temp_dir=d),
                   pathlib.Path(d) / "m.arpa")
    assert report.memory["spilled"]
out = compiled.arpa_block(np.array([-1.5, -1234.5], np.float32), np.array([0, -0.25], np.float32),
                          [np.array([0, 1])], compiled.token_blob([b"a", b"b"]))
assert out == b"-1.5\\ta\\n-1234.5\\tb\\t-0.25\\n", out
for precision in ("double", "kenlm"):  # both scoring kernels
    model = fit("a b c\\nb c a\\n", NgramConfig(order=3, precision=precision))
    model.engine = "numba"
    assert model.perplexity("a b c d\\n").tokens == 5
kernels = [f for m in (compiled, compiled_count, compiled_score, compiled_tables, compiled_text,
                       compiled_reading, compiled_estimate, compiled_merge)
           for f in vars(m).values() if hasattr(f, "stats")]
print(json.dumps({"misses": sum(sum(f.stats.cache_misses.values()) for f in kernels),
                  "hits": sum(sum(f.stats.cache_hits.values()) for f in kernels)}))
"""


KERNEL_MEMORY = """
import json, tempfile
from seqlm.config import NgramConfig
from seqlm.ngram import build
text = "".join(f"w{i % 97} w{i % 13} w{i % 7}\\n" for i in range(3000))
with tempfile.TemporaryDirectory() as d:
    report = build(text, NgramConfig(order=3, engine="numba", memory="400M", temp_dir=d))
print(json.dumps(report.memory))
"""


def test_the_compiled_engines_own_memory_comes_off_the_budget(tmp_path):
    """A fresh process: Numba and LLVM (~110 MiB) load during the build and are taken off
    the 400M the data may hold, with an eighth for copies inside single calls."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    memory = json.loads(subprocess.run([sys.executable, "-c", KERNEL_MEMORY], env=env,
                                       check=True, capture_output=True, text=True).stdout)
    taken = memory["budget_bytes"] - memory["data_budget_bytes"]
    assert 50 * 2**20 + memory["budget_bytes"] // 8 < taken <= memory["budget_bytes"] * 3 // 4


def test_a_second_process_compiles_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = [json.loads(subprocess.run([sys.executable, "-c", CACHED], env=env, check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert runs[0]["misses"] > 0  # the first process compiled (and wrote the cache)
    assert runs[1] == {"misses": 0, "hits": runs[1]["hits"]} and runs[1]["hits"] >= 2
    assert any((tmp_path / "cache").rglob("*.nbi"))


def scorers(tmp_path):
    """Every kind of model: each in-memory form, ARPA-read, mapped binary (float, 8-bit)."""
    from seqlm.ngram import fit, read_arpa
    from seqlm.ngram.binary import load_binary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        models = {s: fit(TEXT, NgramConfig(order=4, smoothing=s))
                  for s in ("mle", "addk", "kn", "mkn", "stupid")}
        models["char-kenlm"] = fit(TEXT, NgramConfig(order=6, unit="char", precision="kenlm"))
        build(TEXT, NgramConfig(order=5), tmp_path / "m.arpa", tmp_path / "m.bin")
        build(TEXT, NgramConfig(order=5, prob_bits=8, backoff_bits=8), None, tmp_path / "q.bin")
        build(TEXT, NgramConfig(order=5, precision="kenlm"), None, tmp_path / "k.bin")
    models["arpa"] = read_arpa(tmp_path / "m.arpa")
    models["binary"] = load_binary(tmp_path / "m.bin")
    models["8-bit"] = load_binary(tmp_path / "q.bin")
    models["kenlm-binary"] = load_binary(tmp_path / "k.bin")
    assert models["kenlm-binary"].precision == "kenlm"
    return models


SCORED = TEXT + "the owl sees a zebra .\nthe cat the cat the cat\n\nnaïve owl\n" * 3


def test_both_engines_score_alike(tmp_path):
    for name, model in scorers(tmp_path).items():
        got = {}
        for engine in ("numpy", "numba"):
            model.engine = engine
            got[engine] = (model.perplexity(SCORED),
                           [t.nats for t in model.token_scores("the cat sees the owl .")])
        assert got["numba"] == got["numpy"], name


EDGES = ("a  b\tc\r\n\n<s> the cat </s> <unk> sees\n   \nthe incomprehensibilities café "
         "naïve\n\t\nü ü ü the owl sees the big mouse the big mouse the\nx")  # no last \\n


@pytest.mark.parametrize("unit", ["word", "char", "byte"])
@pytest.mark.parametrize("order", [1, 2, 5])
@pytest.mark.parametrize("precision", ["double", "kenlm"])
def test_the_compiled_scorer_equals_the_reference(unit, order, precision):
    """One compiled pass (`compiled_score`) against `encode` + `find_matches` + the NumPy
    sums: separators, literal <s>/</s>/<unk>, blank lines, words over 8 bytes, 2- to 4-byte
    UTF-8, a line longer than a block, a last line without a newline; 1, 2 and 3 threads."""
    from seqlm.ngram import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        model = fit(TEXT + "the incomprehensibilities\n", NgramConfig(order=order, unit=unit,
                                                                      precision=precision))
    long_line = " ".join(["the cat sees the dog ."] * 1500) + " 🦉 €\n"  # > a block of 4096
    text = (EDGES + "\n" + SCORED) * 2 + long_line + EDGES
    model.engine = "numpy"
    reference = model.perplexity(text)
    assert model.compiled_tables is None
    model.engine = "numba"
    for threads in (1, 2, 3):
        assert model.perplexity(text, threads=threads) == reference, threads
    assert model.compiled_tables is not None  # the compiled scorer ran
    for edge in ("", "\n", "x", "\n\n", EDGES):
        model.engine = "numpy"
        expected = model.perplexity(edge)
        model.engine = "numba"
        assert model.perplexity(edge, threads=2) == expected, repr(edge)


def test_tables_too_large_for_the_compiled_keys_are_refused():
    from types import SimpleNamespace

    from seqlm.ngram.compiled_tables import slot_records

    V = 1 << 40  # a row * V + word key would pass 2**62: refused before anything is laid out
    huge = SimpleNamespace(order=2, V=V, sizes=lambda: [V, 1 << 30])
    with pytest.raises(SeqlmError, match="too large for the compiled scorer.*--engine numpy"):
        slot_records(huge, [np.zeros(1, np.float32)], [np.zeros(1, np.float32)])


def test_threads_score_exactly_what_one_thread_scores(tmp_path):
    from seqlm.ngram.compiled_score import chunk_bounds

    text = SCORED * 40
    assert len(chunk_bounds(text.encode(), 2)) == 3  # two chunks of whole lines
    for name, model in scorers(tmp_path).items():
        model.engine = "numba"
        one = model.perplexity(text)
        assert model.perplexity(text, threads=2) == one, name
        assert model.perplexity(text, threads=5) == one, name


def test_workers_score_exactly_what_one_process_scores(tmp_path, monkeypatch):
    from seqlm.ngram import model as model_module

    monkeypatch.setattr(model_module, "PIECE_CHARS", 300)  # many pieces of a small text
    for name in ("mkn", "binary", "char-kenlm", "kenlm-binary"):
        model = scorers(tmp_path)[name]
        one = model.perplexity(SCORED * 3)
        assert model.perplexity(SCORED * 3, workers=3) == one, name


def perplexity_in_worker(model, text):
    return model.perplexity(text)


def test_models_survive_pickling_into_a_worker(tmp_path):
    import multiprocessing
    import pickle

    models = scorers(tmp_path)
    assert len(pickle.dumps(models["binary"])) < 1000  # a mapped model travels as its path
    models["mkn"].perplexity(SCORED)  # numpy: builds the hash indexes
    size = len(pickle.dumps(models["mkn"]))
    models["mkn"].engine = "numba"
    models["mkn"].perplexity(SCORED)  # builds the compiled scorer's tables, never pickled
    assert models["mkn"].compiled_tables is not None
    assert len(pickle.dumps(models["mkn"])) < size + 100  # not the tables' 15 KB
    with multiprocessing.get_context().Pool(1) as pool:
        for name in ("binary", "mkn", "arpa"):
            assert pool.apply(perplexity_in_worker, (models[name], SCORED)) == \
                models[name].perplexity(SCORED), name


def test_eval_records_its_engine_and_workers(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    out = run_cli_json("ngram", "eval", "--text-file", str(tmp_path / "t.txt"), "--corpus",
                       f"file:{tmp_path / 't.txt'}", "--engine", "numba", "--workers", "2",
                       "--threads", "2", "--order", "3", "--out", str(tmp_path / "e"))
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["metrics"]["engine"] == "numba" and manifest["metrics"]["workers"] == 2
    assert manifest["metrics"]["threads"] == 2
    assert out["perplexity"] > 1


def test_a_small_train_never_imports_numba(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    code = ("import sys; from seqlm.cli import main; "
            f"code = main(['ngram', 'train', '--text-file', {str(tmp_path / 't.txt')!r}, "
            f"'--out', {str(tmp_path / 'r')!r}, '--quiet']); "
            "print(code, 'numba' in sys.modules, 'llvmlite' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-3:] == ["0", "False", "False"]

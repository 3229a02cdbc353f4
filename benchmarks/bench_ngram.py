"""n-gram speed, memory and parity: seqlm against KenLM, measured in the same run.

Prints, with medians of interleaved repeats (the machine is shared, so both sides see the
same load), each line naming what it measured:
1. `seqlm ngram train` vs `lmplz -S 100M` on Tiny Shakespeare words, orders 3 and 5, as whole
   processes (ARPA written): wall seconds, CPU seconds and peak memory (`/usr/bin/time`),
   after the interpreter's own start-up (`python -c pass`, and with `import numpy`) and the
   command's fixed cost (`seqlm ngram train` on a two-line text), each also as a share of
   seqlm's run; with `--train-before DIR`, the seqlm of another src/ folder in the same rounds;
2. parity: every probability and backoff of `--kenlm-precision` ARPA files against lmplz's
   (orders 3 and 5, words and characters, and `--prune 0 1 1`);
3. a scale series of generated corpora (Zipf over 50,000 types; `--sizes`, default 1M and
   10M tokens) trained with `--memory 500M` (`--scale-engine`, default auto): wall and CPU
   seconds, seconds per million tokens and peak memory, beside `lmplz -S 500M` on the same
   files, medians of `--scale-repeats` interleaved runs, with the load after each run;
4. loading and scoring (order 5, Tiny Shakespeare train text): ARPA reading, binary loading,
   tokens per second of the ARPA-loaded, binary and 8-bit quantised models against the
   `kenlm` module (per-line `score`, as a Python user calls it), perplexity moved by
   quantisation; 5. with `--baseline-src DIR`, another checkout's ARPA reading against this one's;
6. the engines: process start-up with and without Numba, ARPA writing (Tiny Shakespeare and
   1M generated tokens, order 5; the files compared byte for byte), finding matches, and
   scoring (precision double and kenlm, the model read from ARPA and mapped from binary) with
   `--engine numpy`, `numba` on 1 thread and on 2, beside the kenlm module's per-line `score`
   (one thread), each as a ratio to it.

lmplz and build_binary are found through `KENLM_BIN` (a folder holding them, e.g. a KenLM
build's `bin/`); without it the KenLM columns are skipped with a note. Run:
    KENLM_BIN=/tmp/kenlm/build/bin python benchmarks/bench_ngram.py [--quick] [--sizes 1e6 1e7 1e8]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from seqlm.config import CorpusConfig  # noqa: E402
from seqlm.data.corpora import load_corpus  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402


def kenlm_tool(name: str) -> Path | None:
    folder = os.environ.get("KENLM_BIN")
    path = Path(folder) / name if folder else None
    return path if path is not None and path.is_file() else None


def timed(cmd: list[str], env: dict | None = None) -> dict:
    """Wall, CPU and peak RSS of one process, from /usr/bin/time (which forks from a small
    process, so the peak is the child's own)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", *cmd], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {out.stderr[-800:]}")
    wall, user, system, kib = out.stderr.strip().splitlines()[-1].split()[1:]
    return {"wall": float(wall), "cpu": float(user) + float(system), "mib": int(kib) / 1024}


def seqlm_env(src: Path | None = None) -> dict:
    """seqlm from this checkout (or from `src`), with byte code cached as an installed
    package has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cache = Path(tempfile.gettempdir()) / ("seqlm-bench-pycache" + ("-before" if src else ""))
    return {**env, "PYTHONPATH": str(src or SRC), "PYTHONPYCACHEPREFIX": str(cache)}


def medians(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def show(label: str, m: dict) -> None:
    print(f"  {label:34s} {m['wall']:6.2f} s wall  {m['cpu']:6.2f} s CPU  {m['mib']:7.1f} MiB")


def start_up(work: Path, repeats: int) -> dict[str, dict]:
    """What any Python process of seqlm's pays before its own code: the interpreter, and the
    interpreter with NumPy imported (with one OpenBLAS thread, as `seqlm` imports it: more
    threads spin at import and add CPU time), interleaved as the runs below; and what
    `seqlm ngram train` pays whatever it trains on (imports, parser, run directory,
    manifests, report page, an empty ARPA file's write): the command on a two-line text."""
    tiny = work / "two-lines.txt"
    tiny.write_text("a b c\nb c d\n")
    cmds = {"python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
            "seqlm ngram train, a two-line text": [
                sys.executable, "-m", "seqlm", "ngram", "train", "--order", "5", "--text-file",
                str(tiny), "--arpa", str(work / "tiny.arpa"), "--out", str(work / "tiny-run"),
                "--overwrite", "--quiet"]}
    env = {**seqlm_env(), "OPENBLAS_NUM_THREADS": "1"}
    runs: dict[str, list[dict]] = {name: [] for name in cmds}
    for r in range(repeats + 1):
        for name, cmd in cmds.items():
            m = timed(cmd, env)
            if r:
                runs[name].append(m)
    out = {name: medians(ms) for name, ms in runs.items()}
    for name, m in out.items():
        show(name, m)
    return out


def train_vs_lmplz(text_file: Path, work: Path, repeats: int, before: Path | None = None,
                   ) -> None:
    """Section 1; with `before` (another checkout's src/), that seqlm too, in the same rounds."""
    print(f"1. train Tiny Shakespeare words, whole process, medians of {repeats} interleaved")
    fixed = start_up(work, repeats)
    lmplz = kenlm_tool("lmplz")
    for order in (3, 5):
        def seqlm_train(name: str, order: int = order) -> list[str]:
            return [sys.executable, "-m", "seqlm", "ngram", "train", "--order", str(order),
                    "--smoothing", "mkn", "--text-file", str(text_file), "--arpa",
                    str(work / f"{name}.arpa"), "--out", str(work / f"{name}-run"),
                    "--overwrite", "--quiet"]

        seqlm, older = seqlm_train("s"), seqlm_train("before")
        kenlm = [str(lmplz), "-o", str(order), "-S", "100M", "--text", str(text_file),
                 "--arpa", str(work / "k.arpa")] if lmplz else None
        ours, theirs, earlier = [], [], []
        for r in range(repeats + 1):  # the first round warms caches and is not counted
            a = timed(seqlm, seqlm_env())
            b = timed(kenlm) if kenlm else None
            c = timed(older, seqlm_env(before)) if before else None
            if r:
                ours.append(a)
                theirs += [b] if b else []
                earlier += [c] if c else []
        show(f"seqlm order {order}", medians(ours))
        if earlier:
            show(f"seqlm order {order}, {before}", medians(earlier))
        if theirs:
            show(f"lmplz -o {order} -S 100M", medians(theirs))
            for name, runs in (("seqlm", ours), ("before", earlier)):
                if runs:
                    wall = medians(runs)["wall"] / medians(theirs)["wall"]
                    cpu = medians(runs)["cpu"] / medians(theirs)["cpu"]
                    print(f"  {name + ' / lmplz':34s} {wall:.2f}x wall, {cpu:.2f}x CPU")
        share = {name: m["wall"] / medians(ours)["wall"] for name, m in fixed.items()}
        print(f"  {'of seqlm order ' + str(order) + ' (wall)':34s} "
              + ", ".join(f"{name}: {x:.0%}" for name, x in share.items()))
    if not lmplz:
        print("  (lmplz not found: set KENLM_BIN to a folder holding lmplz and build_binary)")


def arpa_values(path: Path) -> dict[str, tuple[np.float32, np.float32]]:
    out, order = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("\\") and line.endswith("-grams:"):
                order = line
                continue
            fields = line.split("\t")
            if order is None or len(fields) < 2:
                continue
            backoff = np.float32(float(fields[2])) if len(fields) > 2 else np.float32(0)
            out[fields[1]] = (np.float32(float(fields[0])), backoff)
    return out


def parity(text_file: Path, work: Path) -> None:
    print("2. --kenlm-precision ARPA against lmplz's, value by value")
    lmplz = kenlm_tool("lmplz")
    if not lmplz:
        print("  skipped: lmplz not found (set KENLM_BIN)")
        return
    from seqlm.ngram.arpa import escape

    char_file = work / "chars.txt"  # lmplz splits on spaces: write the characters escaped
    char_file.write_text("".join(" ".join(escape(c, "char") for c in line) + "\n"
                                 for line in text_file.read_text().split("\n")[:-1]))
    cases = [("word", 3, []), ("word", 5, []), ("word", 5, ["0", "1", "1"]),
             ("char", 5, [])]
    for unit, order, prune in cases:
        source = text_file if unit == "word" else char_file
        flags = ["--prune", *prune] if prune else []
        subprocess.run([str(lmplz), "-o", str(order), "-S", "100M", "--text", str(source),
                        "--arpa", str(work / "k.arpa"), "--discount_fallback", *flags],
                       capture_output=True, check=True)  # = seqlm's default fallback
        subprocess.run([sys.executable, "-m", "seqlm", "ngram", "train", "--order", str(order),
                        "--kenlm-precision", "--text-file", str(source), "--unit", "word",
                        "--arpa", str(work / "s.arpa"), "--out", str(work / "run"),
                        "--overwrite", "--quiet", *flags], env=seqlm_env(), check=True,
                       capture_output=True)
        theirs, ours = arpa_values(work / "k.arpa"), arpa_values(work / "s.arpa")
        common = theirs.keys() & ours.keys()
        probs = sum(theirs[g][0] != ours[g][0] for g in common)
        backoffs = sum(theirs[g][1] != ours[g][1] for g in common)
        print(f"  {unit} order {order}{' --prune ' + ' '.join(prune) if prune else '':15s} "
              f"{len(theirs):>9,} n-grams (seqlm {len(ours):,}), differing: {probs} "
              f"probabilities, {backoffs} backoffs")


def write_generated(path: Path, tokens: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    """Zipf-distributed words over 50,000 types in lines of 1-30 words, written in chunks (a
    100M-token corpus never sits in memory)."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(50_001)], dtype=object)
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, tokens, chunk):
            n = min(chunk, tokens - start)
            ids = np.minimum(rng.zipf(1.2, size=n), 50_000)
            seps = np.full(n, " ", dtype=object)
            ends = np.cumsum(rng.integers(1, 31, size=n // 5 + 1))
            seps[ends[ends <= n] - 1] = "\n"
            seps[-1] = "\n"
            pieces = np.empty(2 * n, dtype=object)
            pieces[0::2], pieces[1::2] = words[ids], seps
            f.write("".join(pieces.tolist()))


def scale_series(sizes: list[int], order: int, work: Path, repeats: int = 1,
                 engine: str = "auto") -> None:
    print(f"3. scale series, order {order}, seqlm --memory 500M --engine {engine} "
          f"(lmplz -S 500M), medians of {repeats} interleaved run(s), load before -> after")
    lmplz = kenlm_tool("lmplz")
    for tokens in sizes:
        corpus = work / f"gen{tokens}.txt"
        write_generated(corpus, tokens)
        spill = work / "spill"
        spill.mkdir(exist_ok=True)
        seqlm = [sys.executable, "-m", "seqlm", "ngram", "train", "--order", str(order),
                 "--text-file", str(corpus), "--memory", "500M", "--temp-dir", str(spill),
                 "--engine", engine, "--arpa", str(work / "g.arpa"), "--out",
                 str(work / "grun"), "--overwrite", "--quiet"]
        kenlm = [str(lmplz), "-o", str(order), "-S", "500M", "-T", str(spill), "--text",
                 str(corpus), "--arpa", str(work / "gk.arpa"), "--discount_fallback"
                 ] if lmplz else None  # with seqlm's default fallback: large Zipf samples
        ours, theirs, load = [], [], [os.getloadavg()[0]]  # have no unigram seen once
        for _ in range(repeats):
            ours.append(timed(seqlm, seqlm_env()))
            load.append(os.getloadavg()[0])
            if kenlm:
                theirs.append(timed(kenlm))
                load.append(os.getloadavg()[0])
        m = medians(ours)
        manifest = json.loads((work / "grun" / "manifest.json").read_text())
        print(f"  {tokens / 1e6:5.0f}M tokens: seqlm {m['wall']:7.1f} s wall "
              f"({m['wall'] / tokens * 1e6:5.2f} s per M tokens), {m['cpu']:7.1f} s CPU, "
              f"peak {m['mib']:6.0f} MiB, engine {manifest['metrics']['engine']}", flush=True)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in manifest["timings"].items())
        print(f"  {'':13s}last run's stages (s): {stages}")
        if theirs:
            k = medians(theirs)
            print(f"  {'':13s}lmplz {k['wall']:7.1f} s wall ({k['wall'] / tokens * 1e6:5.2f} "
                  f"s per M tokens), {k['cpu']:7.1f} s CPU, peak {k['mib']:6.0f} MiB")
            print(f"  {'':13s}seqlm / lmplz: {m['wall'] / k['wall']:.2f}x wall, "
                  f"{m['cpu'] / k['cpu']:.2f}x CPU, {m['mib'] / k['mib']:.2f}x peak memory")
        print(f"  {'':13s}load average {' -> '.join(f'{x:.1f}' for x in load)}", flush=True)
        for leftover in (corpus, work / "g.arpa", work / "gk.arpa"):
            leftover.unlink(missing_ok=True)


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def scoring(train: str, valid: str, work: Path, repeats: int) -> None:
    from seqlm.config import NgramConfig
    from seqlm.ngram import fit, read_arpa, write_arpa
    from seqlm.ngram.binary import load_binary, write_binary
    from seqlm.ngram.tables import BackoffTables

    print(f"4. loading and scoring, order 5, medians of {repeats} interleaved")
    arpa = write_arpa(fit(train, NgramConfig(order=5)), work / "m5.arpa")
    read_s, model = best_of(lambda: read_arpa(arpa), repeats)
    write_binary(BackoffTables.of_model(model), work / "m5.bin")
    write_binary(BackoffTables.of_model(model), work / "m5q.bin", 8, 8)
    load_s, binary = best_of(lambda: load_binary(work / "m5.bin"), repeats)
    print(f"  read ARPA (21 MB): {read_s:.3f} s   load binary: {load_s * 1000:.2f} ms")
    lines = train[:-1].split("\n") if train.endswith("\n") else train.split("\n")
    tokens = sum(len(line.split()) + 1 for line in lines)
    scorers = {"seqlm ARPA-loaded": model.perplexity, "seqlm binary": binary.perplexity,
               "seqlm binary 8/8 bits": load_binary(work / "m5q.bin").perplexity}
    try:
        import kenlm

        km = kenlm.Model(str(arpa))
        scorers["kenlm module (ARPA-loaded)"] = lambda text: sum(km.score(x) for x in lines)
        build_binary = kenlm_tool("build_binary")
        if build_binary:
            subprocess.run([str(build_binary), str(arpa), str(work / "m5.klm")], check=True,
                           capture_output=True)
            kb = kenlm.Model(str(work / "m5.klm"))
            scorers["kenlm module (binary)"] = lambda text: sum(kb.score(x) for x in lines)
    except ImportError:
        print("  (the kenlm module is not installed: pip install kenlm)")
    for score in scorers.values():
        score(valid)  # the first query builds the hash indexes of an ARPA-loaded model
    wall = {name: [] for name in scorers}
    cpu = {name: [] for name in scorers}
    for _ in range(repeats):  # interleaved: every scorer sees the same load
        for name, score in scorers.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            score(train)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    for name in scorers:
        print(f"  {name:28s} {tokens / statistics.median(wall[name]):12,.0f} tokens/s wall "
              f"{tokens / statistics.median(cpu[name]):12,.0f} tokens/s of CPU")
    reference = "kenlm module (ARPA-loaded)"
    if reference in scorers:
        for name in [n for n in scorers if n.startswith("seqlm")]:
            w = statistics.median(wall[reference]) / statistics.median(wall[name])
            c = statistics.median(cpu[reference]) / statistics.median(cpu[name])
            print(f"  {name} / kenlm module: {w:.2f}x wall, {c:.2f}x CPU")
    quantized = scorers["seqlm binary 8/8 bits"](valid).perplexity
    print(f"  valid perplexity: float32 {binary.perplexity(valid).perplexity:.4f}, "
          f"8/8 bits {quantized:.4f}")


def baseline(src: Path, text_file: Path, work: Path, repeats: int) -> None:
    """Another checkout's ARPA reading and training against this one's, interleaved."""
    print(f"5. this checkout against {src}, medians of {repeats} interleaved")
    read = ("import sys, time; sys.path.insert(0, sys.argv[1]); from seqlm.ngram import "
            "read_arpa; t = time.process_time(); read_arpa(sys.argv[2]); "
            "print(time.process_time() - t)")
    times: dict[str, list[float]] = {"this": [], "baseline": []}
    for _ in range(repeats):
        for name, path in (("this", SRC), ("baseline", src)):
            out = subprocess.run([sys.executable, "-c", read, str(path), str(work / "m5.arpa")],
                                 capture_output=True, text=True, check=True)
            times[name].append(float(out.stdout))
    this, base = statistics.median(times["this"]), statistics.median(times["baseline"])
    print(f"  read ARPA CPU: this {this:.3f} s, baseline {base:.3f} s: {base / this:.1f}x faster")


def interleaved(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, called in turn `repeats` times after one
    warm-up round."""
    times = {name: [] for name in fns}
    for r in range(repeats + 1):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            if r:
                times[name].append((time.perf_counter() - start, time.process_time() - start_cpu))
    return {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
            for name, ts in times.items()}


def engines(train: str, work: Path, repeats: int) -> None:
    """The compiled engine against the NumPy reference, in the same process and run."""
    from seqlm.config import NgramConfig
    from seqlm.ngram import compiled, fit, matching
    from seqlm.ngram.arpa import write_tables
    from seqlm.ngram.tables import BackoffTables
    from seqlm.ngram.text_ids import encode

    print(f"6. engines numpy vs numba, medians of {repeats} interleaved (wall, CPU)")
    env = seqlm_env()
    start_up = {what: [] for what in ("python", "import numba", "one cached kernel")}
    call = ("from seqlm.ngram import compiled; import numpy as np; compiled.arpa_block("
            "np.zeros(1, np.float32), None, [np.zeros(1, np.int64)], compiled.token_blob([b'a']))")
    for _ in range(repeats + 1):
        for what, code in (("python", "pass"), ("import numba", "import numba"),
                           ("one cached kernel", call)):
            start_up[what].append(timed([sys.executable, "-c", code], env)["wall"])
    print("  process start-up (wall, s): " + ", ".join(
        f"{k} {statistics.median(v[1:]):.2f}" for k, v in start_up.items()))
    corpora = {"Tiny Shakespeare words": train}
    write_generated(work / "gen1m.txt", 1_000_000)
    corpora["generated 1M tokens"] = (work / "gen1m.txt").read_text()
    for name, text in corpora.items():
        tables = BackoffTables.of_model(fit(text, NgramConfig(order=5)))
        t = interleaved({e: lambda e=e, t=tables: write_tables(t, work / f"{e}.arpa", engine=e)
                         for e in ("numpy", "numba")}, repeats)
        same = (work / "numpy.arpa").read_bytes() == (work / "numba.arpa").read_bytes()
        print(f"  write ARPA, {name}, order 5 ({sum(tables.sizes()):,} n-grams): numpy "
              f"{t['numpy'][0]:.3f} s / {t['numpy'][1]:.3f} s CPU, numba {t['numba'][0]:.3f} s"
              f" / {t['numba'][1]:.3f} s CPU: {t['numpy'][1] / t['numba'][1]:.2f}x CPU, "
              f"{'identical' if same else 'DIFFERENT'} bytes")
    model = fit(train, NgramConfig(order=5))
    stream = encode(train, model.vocab, model.unit)  # find_matches, the previous numba step
    t = interleaved({"numpy": lambda: matching.find_matches(model, stream.ids, stream.oov),
                     "numba": lambda: compiled.find_matches(model, stream.ids, stream.oov)},
                    repeats)
    print(f"  find matches, Tiny Shakespeare train ({len(stream.ids):,} positions): numpy "
          f"{t['numpy'][1]:.3f} s CPU, numba {t['numba'][1]:.3f} s CPU: "
          f"{t['numpy'][1] / t['numba'][1]:.2f}x")

    for precision in ("double", "kenlm"):
        score_sources(train, work, precision, repeats)


def score_sources(train: str, work: Path, precision: str, repeats: int) -> None:
    """Scoring Tiny Shakespeare train with an order-5 model read from its ARPA file and
    mapped from its binary file: numpy, numba on 1 and 2 threads, and the kenlm module's
    per-line `score` (ARPA-loaded, and binary where `build_binary` is found), interleaved."""
    from seqlm.config import NgramConfig
    from seqlm.ngram import build, read_arpa
    from seqlm.ngram.binary import load_binary

    arpa, binary = work / f"s5{precision}.arpa", work / f"s5{precision}.bin"
    build(train, NgramConfig(order=5, precision=precision), arpa, binary)
    lines = train[:-1].split("\n")
    tokens = sum(len(line.split()) + 1 for line in lines)
    kenlm_scorers = {}
    try:
        import kenlm

        km = kenlm.Model(str(arpa))
        kenlm_scorers["kenlm module ARPA-loaded"] = lambda: sum(km.score(x) for x in lines)
        build_binary = kenlm_tool("build_binary")
        if build_binary:
            subprocess.run([str(build_binary), str(arpa), str(work / "s5.klm")], check=True,
                           capture_output=True)
            kb = kenlm.Model(str(work / "s5.klm"))
            kenlm_scorers["kenlm module binary"] = lambda: sum(kb.score(x) for x in lines)
    except ImportError:
        print("  (the kenlm module is not installed: pip install kenlm)")
    for source, model in (("ARPA-loaded", read_arpa(arpa, precision=precision)),
                          ("binary", load_binary(binary))):
        scorers = {"numpy": scorer_of(model, "numpy", train),
                   "numba 1 thread": scorer_of(model, "numba", train),
                   "numba 2 threads": scorer_of(model, "numba", train, threads=2),
                   **kenlm_scorers}
        score_rows(f"score Tiny Shakespeare train ({tokens:,} tokens), precision {precision}, "
                   f"seqlm model {source}", scorers, tokens, repeats)


def scorer_of(model, engine: str, text: str, threads: int = 1):
    """A call that scores `text` with `model` on `engine` and `threads`."""
    def score():
        model.engine = engine
        return model.perplexity(text, threads=threads)
    return score


def score_rows(title: str, scorers: dict, tokens: int, repeats: int) -> None:
    """Tokens/s (wall and CPU) per scorer, medians of interleaved repeats, and each numba row
    as a ratio to each kenlm module row of the same run. The kenlm module scores on one
    thread; "numba 2 threads" uses two, so its wall ratio is the one to read (its CPU time
    adds both threads)."""
    t = interleaved(scorers, repeats)
    print(f"  {title}; the kenlm module runs on one thread:")
    for name, (wall, cpu) in t.items():
        print(f"    {name:26s} {tokens / wall:12,.0f} tokens/s wall {tokens / cpu:12,.0f} of CPU")
    for ref in [n for n in t if n.startswith("kenlm")]:
        (rw, rc), (w1, c1), (w2, _) = t[ref], t["numba 1 thread"], t["numba 2 threads"]
        print(f"    / {ref}: numba 1 thread {rw / w1:.2f}x wall, {rc / c1:.2f}x CPU; "
              f"numba 2 threads {rw / w2:.2f}x wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, 1M tokens only")
    parser.add_argument("--sizes", type=float, nargs="*", default=[1e6, 1e7],
                        help="token counts of the scale series (up to 1e8)")
    parser.add_argument("--scale-order", type=int, default=5)
    parser.add_argument("--scale-repeats", type=int, default=1,
                        help="interleaved seqlm/lmplz runs per size in section 3 (medians)")
    parser.add_argument("--scale-engine", default="auto", choices=["auto", "numpy", "numba"],
                        help="seqlm's --engine in section 3")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="another seqlm checkout's src/ to compare reading against")
    parser.add_argument("--train-before", type=Path, default=None,
                        help="section 1 also times the seqlm of this src/ folder (e.g. an older "
                        "commit's: git archive COMMIT src | tar -x -C DIR)")
    parser.add_argument("--sections", type=int, nargs="*", default=[1, 2, 3, 4, 6],
                        help="which numbered sections to run (5 runs with --baseline-src)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    sizes = [1_000_000] if args.quick else [int(s) for s in args.sizes]
    warnings.simplefilter("ignore")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    print(f"CPU {cpu_name()}, {os.cpu_count()} cores; load average {load_before:.1f} before")
    corpus = load_corpus(CorpusConfig("tinyshakespeare"))
    train, valid = corpus.text("train"), corpus.text("valid")
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        text_file = work / "train.txt"
        text_file.write_text(train if train.endswith("\n") else train + "\n")
        if 1 in args.sections:
            train_vs_lmplz(text_file, work, repeats, args.train_before)
        if 2 in args.sections:
            parity(text_file, work)
        if 3 in args.sections:
            scale_series(sizes, args.scale_order, work, args.scale_repeats, args.scale_engine)
        if 4 in args.sections or args.baseline_src:
            scoring(train, valid, work, repeats)
        if args.baseline_src:
            baseline(args.baseline_src, text_file, work, repeats)
        if 6 in args.sections:
            engines(train, work, repeats)
        shutil.rmtree(work / "spill", ignore_errors=True)
    print(f"benchmark total {time.perf_counter() - started:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} at the end, {load_before:.1f} before, on {os.cpu_count()} "
          f"cores")


if __name__ == "__main__":
    main()

"""n-gram speed: seqlm's modified Kneser-Ney against nltk.lm, measured in the same run.

Prints (medians of repeats; about a minute on an idle 2-core machine, under 3 minutes loaded):
- `seqlm ngram train --order 5 ... --arpa` as a whole process (wall clock, median of 5);
- train time and peak traced memory for orders 3 and 5 on Tiny Shakespeare words, ARPA
  writing timed separately;
- train time and peak resident memory (a forked child per order, so tracing does not slow
  the 10 million Python strings down) on a generated corpus of 10 million tokens, once each;
- scoring speed in tokens per second (order 5, Tiny Shakespeare train text);
- nltk.lm's KneserNeyInterpolated fit and scoring speed on a slice it can finish, and the
  ratios. Run: python benchmarks/bench_ngram.py [--quick]   (--quick: 1M tokens, 1 repeat)
"""

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from seqlm.config import CorpusConfig, NgramConfig  # noqa: E402
from seqlm.data.corpora import load_corpus  # noqa: E402
from seqlm.ngram import fit, write_arpa  # noqa: E402


def median_seconds(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cpu_seconds(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def generated_text(tokens: int, seed: int = 0) -> str:
    """Zipf-distributed words over 50,000 types in lines of 1-30 words."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(50_001)], dtype=object)
    ids = np.minimum(rng.zipf(1.2, size=tokens), 50_000)
    ends = np.cumsum(rng.integers(1, 31, size=tokens // 10))
    separators = np.full(tokens, " ", dtype=object)
    separators[ends[ends <= tokens] - 1] = "\n"
    separators[-1] = "\n"
    pieces = np.empty(2 * tokens, dtype=object)
    pieces[0::2], pieces[1::2] = words[ids], separators
    return "".join(pieces.tolist())


def train_process(repeats: int) -> float:
    """Median wall time and CPU time (user + system) of the whole `seqlm ngram train`."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "seqlm", "ngram", "train", "--order", "5", "--smoothing",
               "mkn", "--corpus", "tinyshakespeare", "--unit", "word", "--arpa",
               f"{d}/out.arpa", "--out", f"{d}/run", "--overwrite", "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        walls, cpus = [], []
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    seconds = statistics.median(walls)
    print(f"seqlm ngram train --order 5 (Tiny Shakespeare words, ARPA written), whole process: "
          f"{seconds:.2f} s wall, {statistics.median(cpus):.2f} s CPU (medians of {repeats}; "
          "KenLM lmplz -o 5: 0.31-0.38 s wall, issue 3)")
    return seconds


def bench_shakespeare(train: str, repeats: int) -> dict:
    models = {}
    for order in (3, 5):
        config = NgramConfig(order=order, smoothing="mkn", unit="word")
        seconds, model = median_seconds(lambda c=config: fit(train, c), repeats)
        mib = peak_mib(lambda c=config: fit(train, c))
        with tempfile.TemporaryDirectory() as d:
            arpa_s, _ = median_seconds(
                lambda m=model, d=d: write_arpa(m, Path(d) / "m.arpa"), repeats)
        print(f"tinyshakespeare order {order}: fit {seconds:6.3f} s  write ARPA {arpa_s:6.3f} s  "
              f"peak {mib:6.1f} MiB  n-grams {sum(model.sizes()):,}")
        models[order] = model
    return models


def fit_in_child(text: str, order: int, queue) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    model = fit(text, NgramConfig(order=order, smoothing="mkn", unit="word"))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, (peak - before) / 2**10, sum(model.sizes())))


def bench_generated(tokens: int) -> None:
    start = time.perf_counter()
    text = generated_text(tokens)
    print(f"generated corpus: {tokens:,} tokens, {len(text) / 2**20:.0f} MiB "
          f"(made in {time.perf_counter() - start:.1f} s)")
    ctx = multiprocessing.get_context("fork")  # the child shares the text, no copy
    for order in (3, 5):
        queue = ctx.Queue()
        child = ctx.Process(target=fit_in_child, args=(text, order, queue))
        child.start()
        seconds, mib, n = queue.get()
        child.join()
        print(f"generated order {order}: fit {seconds:6.2f} s  peak RSS above the text "
              f"{mib:7.0f} MiB  n-grams {n:,}")


def bench_nltk(train: str, test: str) -> float:
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    lines = [line.split() for line in train.split("\n")[:2000]]
    test_lines = [line.split() for line in test.split("\n")[:20] if line.split()]
    start = time.perf_counter()
    grams, vocab = padded_everygram_pipeline(3, lines)
    nltk_model = KneserNeyInterpolated(3)
    nltk_model.fit(grams, vocab)
    nltk_fit = time.perf_counter() - start
    contexts = [(w, tuple((["<s>"] * 2 + line)[i:i + 2])) for line in test_lines
                for i, w in enumerate(line + ["</s>"])][:300]
    start = time.perf_counter()
    for word, context in contexts:
        nltk_model.logscore(word, context)
    nltk_tps = len(contexts) / (time.perf_counter() - start)
    slice_text = "\n".join(" ".join(line) for line in lines) + "\n"
    ours_fit, _ = median_seconds(lambda: fit(slice_text, NgramConfig(order=3)), 3)
    print(f"nltk.lm KneserNeyInterpolated(3) on {len(lines):,} lines: fit {nltk_fit:.2f} s, "
          f"scores {nltk_tps:,.0f} tokens/s")
    print(f"seqlm mkn order 3 on the same lines:  fit {ours_fit:.3f} s "
          f"({nltk_fit / ours_fit:,.0f}x faster)")
    return nltk_tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M generated tokens, 1 repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    corpus = load_corpus(CorpusConfig("tinyshakespeare"))
    train, test = corpus.text("train"), corpus.text("valid")
    train_process(repeats)
    models = bench_shakespeare(train, 1 if args.quick else 3)
    bench_generated(1_000_000 if args.quick else 10_000_000)
    models[5].perplexity(test)  # builds the lookup index once, as any first query would
    seconds, report = median_seconds(lambda: models[5].perplexity(train), repeats)
    cpu = statistics.median(cpu_seconds(lambda: models[5].perplexity(train)) for _ in
                            range(repeats))
    tps = report.tokens / seconds
    print(f"scoring (order 5, Tiny Shakespeare train text, {report.tokens:,} tokens): "
          f"{tps:,.0f} tokens/s wall, {report.tokens / cpu:,.0f} tokens/s of CPU time "
          f"(medians of {repeats}; CPU time is less sensitive to other jobs on the machine)")
    nltk_tps = bench_nltk(train, test)
    print(f"scoring speed ratio seqlm / nltk.lm: {tps / nltk_tps:,.0f}x")
    print(f"benchmark total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

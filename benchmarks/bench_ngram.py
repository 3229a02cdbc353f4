"""n-gram speed: seqlm's modified Kneser-Ney against nltk.lm, measured in the same run.

Prints (medians of repeats): train time and peak traced memory for orders 3 and 5 on Tiny
Shakespeare words (ARPA writing timed separately) and on a generated 10-million-token corpus;
scoring speed in tokens per second; and nltk.lm's KneserNeyInterpolated fit and scoring speed
on a slice it can finish, with the ratios. `seqlm ngram train` as a whole process is timed
with /usr/bin/time (see docs/ngram.md). Run: python benchmarks/bench_ngram.py [--quick]
"""

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

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


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def generated_text(tokens: int, seed: int = 0) -> str:
    """Zipf-distributed words over 50,000 types in lines of 1-30 words."""
    rng = np.random.default_rng(seed)
    ids = np.minimum(rng.zipf(1.2, size=tokens), 50_000)
    words = np.char.add("w", ids.astype(str))
    lengths = rng.integers(1, 31, size=tokens // 10)
    cuts = np.cumsum(lengths)
    cuts = cuts[cuts < tokens]
    return "\n".join(" ".join(line) for line in np.split(words, cuts)) + "\n"


def bench_training(name: str, train: str, orders, repeats: int, arpa: bool = True) -> dict:
    out = {}
    for order in orders:
        config = NgramConfig(order=order, smoothing="mkn", unit="word")
        if arpa:
            seconds, model = median_seconds(lambda c=config: fit(train, c), repeats)
            mib = peak_mib(lambda c=config: fit(train, c))
        else:  # the large corpus: one traced run gives both (tracemalloc adds a little time)
            tracemalloc.start()
            seconds, model = median_seconds(lambda c=config: fit(train, c), 1)
            mib = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        arpa_s = float("nan")
        if arpa:
            with tempfile.TemporaryDirectory() as d:
                arpa_s, _ = median_seconds(
                    lambda m=model, d=d: write_arpa(m, Path(d) / "m.arpa"), repeats)
        print(f"{name:<16} order {order}: fit {seconds:7.3f} s  write ARPA {arpa_s:6.3f} s  "
              f"peak {mib:7.1f} MiB  n-grams {sum(model.sizes()):,}")
        out[order] = model
    return out


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
    ours_fit, ours = median_seconds(
        lambda: fit(slice_text, NgramConfig(order=3, smoothing="mkn")), 3)
    print(f"nltk.lm KneserNeyInterpolated(3) on {len(lines):,} lines: fit {nltk_fit:.2f} s, "
          f"scores {nltk_tps:,.0f} tokens/s")
    print(f"seqlm mkn order 3 on the same lines:  fit {ours_fit:.3f} s "
          f"({nltk_fit / ours_fit:,.0f}x faster)")
    return nltk_tps


def bench_scoring(model, text: str, repeats: int) -> float:
    seconds, report = median_seconds(lambda: model.perplexity(text), repeats)
    return report.tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M generated tokens, 1 repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    warnings.simplefilter("ignore")
    corpus = load_corpus(CorpusConfig("tinyshakespeare"))
    train, test = corpus.text("train"), corpus.text("valid")
    models = bench_training("tinyshakespeare", train, (3, 5), repeats)
    big = generated_text(1_000_000 if args.quick else 10_000_000)
    print(f"generated corpus: {len(big.split()):,} tokens")
    bench_training("generated", big, (3, 5), 1, arpa=False)
    tps = bench_scoring(models[5], train, repeats)
    print(f"scoring (order 5, Tiny Shakespeare train text, {len(train.split()):,} words): "
          f"{tps:,.0f} tokens/s")
    nltk_tps = bench_nltk(train, test)
    print(f"scoring speed ratio seqlm / nltk.lm: {tps / nltk_tps:,.0f}x")


if __name__ == "__main__":
    main()

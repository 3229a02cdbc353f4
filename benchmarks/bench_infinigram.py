"""The ∞-gram index, mixing and entropy pruning (issue 27), measured with references from the
same run. Prints the CPU, the load (`uptime`) and, section by section:

1. build: python-stdlib's train split as bytes (documents = files): seconds to build the
   index and bytes per token on disk, beside `np.argsort` of the same token array (the
   reference: one comparison sort of the same n items);
2. latency: median µs of `count` and of the ∞-gram probability of one token through the
   Python API over `--contexts` contexts of 1..500 bytes cut at random from held-out files,
   interleaved with the same question to a byte 5-gram (`NgramModel.logprob`) as reference;
3. mixture: nats per byte on held-out python-stdlib files (test split) of the byte 5-gram
   (modified KN, trained on the train split; `--orders` for others), the ∞-gram, and their
   mixture, weights fitted by EM on the valid split (other files): one weight set, per
   ∞-gram context bucket, and with the ∞-gram's denser levels (`--levels`, the longest
   suffix that k tokens followed); then the smoothed ∞-gram (every suffix length
   interpolated, Kneser-Ney continuation counts below the longest level,
   `seqlm.ngram.smoothed_infinigram`, parameters fitted on the same dev text) alone,
   mixed with the n-gram, and mixed with the n-gram, the ∞-gram and its levels;
   `--held-out-chars` caps each held-out text;
4. pruning: Tiny Shakespeare words, order 5 (mkn), perplexity on the validation split's
   first half of lines (dev) and second half (test): the full model; entropy pruning to 25%
   and 10% of its n-grams, alone and with count cut-offs first (`--prune` of
   `seqlm ngram shrink`), each with the settings (cut-offs, min order) best on dev, scored
   on test; three count prunings (lmplz's --prune, re-estimated) against entropy pruning to
   exactly each count-pruned size, chosen the same way;

5. with `--lstm RUN`: a character LSTM run trained on the same split, alone and mixed with a
   character ∞-gram of the train split (weights by EM on valid, scored on test).

Run:  python benchmarks/bench_infinigram.py [--sections build latency mix prune] [--lstm RUN]
"""

import argparse
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from seqlm.config import CorpusConfig, InfiniGramConfig, NgramConfig  # noqa: E402
from seqlm.data.corpora import load_corpus  # noqa: E402
from seqlm.ngram.documents import build_corpus_index  # noqa: E402
from seqlm.ngram.entropy_prune import prune_entropy  # noqa: E402
from seqlm.ngram.fit import fit  # noqa: E402
from seqlm.ngram.infinigram import InfiniGram  # noqa: E402
from seqlm.ngram.mixture import InfiniGramScorer, NgramScorer, mix  # noqa: E402
from seqlm.ngram.smoothed_infinigram import SmoothedInfiniGram, SmoothedInfiniGramScorer  # noqa: E402, E501
from seqlm.ngram.training_counts import training_counts  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402

STDLIB = CorpusConfig(name="python-stdlib", valid_fraction=0.05, test_fraction=0.05)




def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def section_build(workdir: Path) -> Path:
    path = workdir / "stdlib.idx"
    out, seconds = build_corpus_index(InfiniGramConfig(unit="byte", corpus=STDLIB), path,
                                      overwrite=True)
    tokens = InfiniGram(path).index.tokens
    start = time.perf_counter()
    np.argsort(np.asarray(tokens))
    ref = time.perf_counter() - start
    print(f"build: {out['tokens']:,} byte tokens in {out['documents']:,} files: {seconds:.2f} s "
          f"({seconds / ref:.1f}x one np.argsort of the tokens, {ref:.2f} s), "
          f"{out['bytes_per_token']:.3f} bytes per token   [{uptime()}]")
    return path


def held_out_contexts(text: str, n: int, rng: np.random.Generator) -> list[bytes]:
    data = text.encode("utf-8")
    out = []
    for _ in range(n):
        length = int(rng.integers(1, 501))
        at = int(rng.integers(0, len(data) - length - 1))
        out.append(data[at:at + length + 1])  # context and the token after it
    return out


def section_latency(path: Path, n: int) -> None:
    g = InfiniGram(path)
    corpus = load_corpus(STDLIB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_model = fit(corpus.text("train")[:2_000_000], NgramConfig(order=5, unit="byte"))
    rng = np.random.default_rng(0)
    times = {"count": [], "prob": [], "5-gram logprob": []}
    for piece in held_out_contexts(corpus.text("valid"), n, rng):
        ids = np.frombuffer(piece, dtype=np.uint8).astype(np.int64)
        ctx, token = ids[:-1], ids[-1:]
        chars = [chr(b) for b in piece[-5:]]  # byte tokens as latin-1 characters
        for name, call in (("count", lambda c=ctx: g.index.count(c)),
                           ("prob", lambda c=ctx, t=token: g.prob(t, c)),
                           ("5-gram logprob", lambda c=chars: ref_model.logprob(c[-1], c[:-1]))):
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    med = {k: float(np.median(v)) * 1e6 for k, v in times.items()}
    print(f"latency (median of {n} held-out contexts of 1..500 bytes): count {med['count']:.1f} "
          f"µs, ∞-gram probability {med['prob']:.1f} µs; reference byte 5-gram logprob "
          f"{med['5-gram logprob']:.1f} µs (count {med['count'] / med['5-gram logprob']:.2f}x, "
          f"probability {med['prob'] / med['5-gram logprob']:.2f}x)   [{uptime()}]")


def section_mix(path: Path, cap: int, orders: list[int], levels: tuple[int, ...]) -> None:
    corpus = load_corpus(STDLIB)
    dev, test = corpus.text("valid")[:cap], corpus.text("test")[:cap]
    g = InfiniGramScorer(InfiniGram(path))
    dense = [InfiniGramScorer(g.model, f"∞-gram ≥{k}", k) for k in levels]
    for order in orders:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit(corpus.text("train"), NgramConfig(order=order, unit="byte"))
        trained = time.perf_counter() - start
        ngram = NgramScorer(model, f"byte {order}-gram mkn")
        start = time.perf_counter()
        flat = mix([ngram, g], dev, test, by_context=False)
        report = mix([ngram, g], dev, test)
        leveled = mix([ngram, g, *dense], dev, test)
        mixed = time.perf_counter() - start
        start = time.perf_counter()
        smoothed = SmoothedInfiniGramScorer(SmoothedInfiniGram(g.model))
        smoothed_flat = mix([ngram, smoothed], dev, test, by_context=False)
        smoothed_all = mix([ngram, smoothed, g, *dense], dev, test)
        smoothed_s = time.perf_counter() - start
        alone = report.components[0].nats
        print(f"mixture on {report.mixture.tokens:,} held-out bytes (dev {len(dev):,} chars of "
              f"other files): {order}-gram {alone:.4f} nats/byte, ∞-gram "
              f"{report.components[1].zero_tokens / report.mixture.tokens:.1%} p=0; mixed, one "
              f"weight set {flat.mixture.nats:.4f} (weights "
              f"{', '.join(f'{w:.3f}' for w in flat.weights)}), per context bucket "
              f"{report.mixture.nats:.4f} ({1 - report.mixture.nats / alone:.1%} below the "
              f"{order}-gram), with the ∞-gram's levels ≥{', ≥'.join(map(str, levels))} "
              f"{leveled.mixture.nats:.4f} ({1 - leveled.mixture.nats / alone:.1%}); "
              f"{order}-gram trained in {trained:.0f} s, mixtures in {mixed:.0f} s   "
              f"[{uptime()}]")
        print(f"  smoothed ∞-gram (fitted on dev: {smoothed.dev_nats:.4f}) alone "
              f"{smoothed_flat.components[1].nats:.4f}; mixed with the {order}-gram, one weight "
              f"set {smoothed_flat.mixture.nats:.4f}; with the ∞-gram and its levels too, per "
              f"context bucket {smoothed_all.mixture.nats:.4f} "
              f"({1 - smoothed_all.mixture.nats / alone:.1%} below the {order}-gram); "
              f"{smoothed_s:.0f} s   [{uptime()}]")


def section_lstm(run: str, workdir: Path, cap: int) -> None:
    """A character LSTM run (trained on the same train split) mixed with a character ∞-gram."""
    import torch

    from seqlm.api import load
    from seqlm.lab.mix import NeuralScorer

    torch.set_num_threads(1)  # batch-1 stepping: a second thread only spins on a busy machine
    path = workdir / "stdlib-char.idx"
    build_corpus_index(InfiniGramConfig(unit="char", corpus=STDLIB), path, overwrite=True)
    corpus = load_corpus(STDLIB)
    dev, test = corpus.text("valid")[:cap], corpus.text("test")[:cap]
    lm = NeuralScorer(load(run), "char LSTM")
    start = time.perf_counter()
    report = mix([lm, InfiniGramScorer(InfiniGram(path), "char ∞-gram")], dev, test)
    flat = mix([lm, InfiniGramScorer(InfiniGram(path), "char ∞-gram")], dev, test,
               by_context=False)
    seconds = time.perf_counter() - start
    alone = report.components[0].nats
    print(f"LSTM {run} on {report.mixture.tokens:,} held-out characters: LSTM {alone:.4f} "
          f"nats/char; mixed with the ∞-gram {report.mixture.nats:.4f} "
          f"({1 - report.mixture.nats / alone:.1%} fewer nats; one weight set "
          f"{flat.mixture.nats:.4f}, {1 - flat.mixture.nats / alone:.1%}); ∞-gram alone "
          f"{report.components[1].zero_tokens / report.mixture.tokens:.1%} p=0; "
          f"{seconds:.0f} s   [{uptime()}]")


CUTOFFS = ((), (0, 0, 0, 1, 1), (0, 0, 1, 1, 1), (0, 1, 1, 1, 1))  # lmplz --prune thresholds
COUNT_PRUNINGS = ((0, 0, 0, 1, 1), (0, 0, 1, 1, 1), (0, 1, 1, 1, 1))


def dev_test_halves(text: str) -> tuple[str, str]:
    """The validation split's first half of lines (choosing the method) and second (scoring)."""
    lines = text.split("\n")
    return "\n".join(lines[:len(lines) // 2]), "\n".join(lines[len(lines) // 2:])


def best_on_dev(full, counts, size: int, dev: str, test: str, cutoffs=CUTOFFS) -> str:
    """Entropy pruning to `size`: every cut-off set × min order 2, 3 tried, the best on dev
    reported with its test perplexity."""
    tried = []
    for cut in cutoffs:
        for min_order in (2, 3):
            m = prune_entropy(full, target_ngrams=size, min_order=min_order, cutoffs=cut,
                              counts=counts)
            tried.append((m.perplexity(dev).perplexity, cut, min_order, m))
    dev_ppl, cut, min_order, m = min(tried, key=lambda t: t[0])
    return (f"{sum(m.sizes()):,} n-grams (--prune {' '.join(map(str, cut)) or 'none'}, "
            f"--min-order {min_order}) dev {dev_ppl:.2f} test {m.perplexity(test).perplexity:.2f}")


def section_prune() -> None:
    corpus = load_corpus(CorpusConfig(name="tinyshakespeare"))
    train, (dev, test) = corpus.text("train"), dev_test_halves(corpus.text("valid"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = fit(train, NgramConfig(order=5, unit="word"))
    counts = training_counts(full, train)
    n_full = sum(full.sizes())
    print(f"pruning, Tiny Shakespeare words, order 5 mkn; perplexity on the validation split's "
          f"first half of lines (dev: chooses the method) and second half (test): full model "
          f"{n_full:,} n-grams, dev {full.perplexity(dev).perplexity:.2f} test "
          f"{full.perplexity(test).perplexity:.2f}   [{uptime()}]")
    for size, name in ((n_full // 4, "25%"), (n_full // 10, "10%")):
        start = time.perf_counter()
        plain = best_on_dev(full, counts, size, dev, test, cutoffs=((),))
        print(f"  {name}: entropy pruning alone: {plain}; with count cut-offs first: "
              f"{best_on_dev(full, counts, size, dev, test)} "
              f"({time.perf_counter() - start:.0f} s)   [{uptime()}]")
    for thresholds in COUNT_PRUNINGS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counted = fit(train, NgramConfig(order=5, unit="word", prune=thresholds))
        n = sum(counted.sizes())
        print(f"  count pruning --prune {' '.join(map(str, thresholds))}: {n:,} n-grams "
              f"({n / n_full:.0%}) dev {counted.perplexity(dev).perplexity:.2f} test "
              f"{counted.perplexity(test).perplexity:.2f}; entropy pruning to the same size: "
              f"alone {best_on_dev(full, counts, n, dev, test, cutoffs=((),))}; with count "
              f"cut-offs first {best_on_dev(full, counts, n, dev, test)}   [{uptime()}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["build", "latency", "mix", "prune"])
    parser.add_argument("--contexts", type=int, default=1000)
    parser.add_argument("--held-out-chars", type=int, default=300_000)
    parser.add_argument("--orders", type=int, nargs="+", default=[5],
                        help="byte n-gram orders mixed with the ∞-gram")
    parser.add_argument("--levels", type=int, nargs="+", default=[2, 8, 32, 128, 512],
                        help="the ∞-gram's denser levels (MixConfig.min_counts)")
    parser.add_argument("--lstm-chars", type=int, default=20_000,
                        help="held-out characters per text for the LSTM (batch-1 scoring)")
    parser.add_argument("--lstm", default=None, metavar="RUN",
                        help="a char LSTM run trained with --corpus python-stdlib "
                             "--valid-fraction 0.05 --test-fraction 0.05: mixed too")
    args = parser.parse_args()
    print(f"{cpu_name()}; Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        needs_index = {"build", "latency", "mix"} & set(args.sections)
        path = section_build(Path(tmp)) if needs_index else None
        if "latency" in args.sections:
            section_latency(path, args.contexts)
        if "mix" in args.sections:
            section_mix(path, args.held_out_chars, args.orders, tuple(args.levels))
        if args.lstm:
            section_lstm(args.lstm, Path(tmp), args.lstm_chars)
        if "prune" in args.sections:
            section_prune()


if __name__ == "__main__":
    main()

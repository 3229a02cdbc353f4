"""Scoring a seq2seq model on a test set: exact match with a 95% interval, overall and by
source-length bucket, per-character accuracy, and the list of errors.

- exact match: the whole output string equals the target; the interval is Wilson's
  (`seqlm.metrics.wilson_interval`), sound at 0 and 1, where held-out date accuracy lives.
- per-character accuracy: over every target character position i, output[i] == target[i];
  a missing character is wrong, characters beyond the target's length are not counted (they
  already cost the exact match).
- buckets: source lengths 1..w, w+1..2w, ... (w = `bucket_width`), only non-empty ones.
Leaves out: BLEU, edit distance, calibration.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from seqlm.config import Seq2SeqEvalConfig
from seqlm.data.pairs import Pair, PairVocabs
from seqlm.decoding.seq2seq import Translation, translate
from seqlm.errors import SeqlmError
from seqlm.metrics import wilson_interval
from seqlm.nn.seq2seq import Seq2Seq


@dataclass(frozen=True)
class Rate:
    correct: int
    n: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    def to_dict(self) -> dict:
        low, high = wilson_interval(self.correct, self.n)
        return {"correct": self.correct, "n": self.n, "accuracy": self.accuracy,
                "ci95": [low, high]}


def char_accuracy(outputs: Sequence[str], targets: Sequence[str]) -> Rate:
    right = sum(sum(i < len(o) and o[i] == c for i, c in enumerate(t))
                for o, t in zip(outputs, targets, strict=True))
    return Rate(right, sum(len(t) for t in targets))


def bucket_of(length: int, width: int) -> tuple[int, int]:
    first = (length - 1) // width * width + 1
    return first, first + width - 1


def by_length(sources: Sequence[str], hits: Sequence[bool], width: int) -> list[dict]:
    """Exact match per source-length bucket, shortest first."""
    buckets: dict[tuple[int, int], list[bool]] = {}
    for source, hit in zip(sources, hits, strict=True):
        buckets.setdefault(bucket_of(len(source), width), []).append(hit)
    return [{"bucket": f"{lo}-{hi}", "first": lo, "last": hi,
             **Rate(sum(h), len(h)).to_dict()} for (lo, hi), h in sorted(buckets.items())]


def score(pairs: Sequence[Pair], outputs: Sequence[str],
          config: Seq2SeqEvalConfig | None = None) -> dict:
    """Every score of `outputs` against the targets of `pairs` (same order)."""
    config = config or Seq2SeqEvalConfig()
    if not pairs:
        raise SeqlmError("no pairs to score: the test set is empty")
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    hits = [o == t for o, t in zip(outputs, targets, strict=True)]
    errors = [{"source": s, "target": t, "output": o}
              for s, t, o, h in zip(sources, targets, outputs, hits, strict=True) if not h]
    return {
        "exact_match": Rate(sum(hits), len(hits)).to_dict(),
        "char_accuracy": char_accuracy(outputs, targets).to_dict(),
        "by_length": by_length(sources, hits, config.bucket_width),
        "n_errors": len(errors),
        "errors": errors[: config.max_errors],
    }


def evaluate(model: Seq2Seq, vocabs: PairVocabs, pairs: Sequence[Pair],
             config: Seq2SeqEvalConfig | None = None) -> tuple[dict, list[Translation]]:
    """Decode every source of `pairs` and score it; also return the translations."""
    config = config or Seq2SeqEvalConfig()
    translations = translate(model, vocabs, [s for s, _ in pairs], config.decode)
    return score(pairs, [t.output for t in translations], config), translations


def read_tsv(text: str, name: str = "test set") -> list[Pair]:
    """`source<TAB>target` lines (blank lines skipped); a line without a TAB is an error."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise SeqlmError(f"{name} line {number} has no TAB: write source<TAB>target")
        source, target = line.split("\t", 1)
        pairs.append((source, target))
    if not pairs:
        raise SeqlmError(f"{name} holds no source<TAB>target lines")
    return pairs


def format_summary(scores: dict) -> str:
    """Three lines for a terminal: exact match with its interval, chars, buckets."""
    em, ch = scores["exact_match"], scores["char_accuracy"]
    lo, hi = em["ci95"]
    buckets = ", ".join(f"{b['bucket']}: {100 * b['accuracy']:.1f}% (n={b['n']})"
                        for b in scores["by_length"])
    return (f"exact match {100 * em['accuracy']:.2f}% ({em['correct']}/{em['n']}, 95% CI "
            f"{100 * lo:.2f}-{100 * hi:.2f}%)\nper-character accuracy "
            f"{100 * ch['accuracy']:.2f}%\nby source length: {buckets}")


def held_out_tests(config, size: int) -> dict[str, list[Pair]]:
    """For a model trained with `corpus.hold_out_formats`: `size` fresh pairs per held-out
    format and regime, named `held-out <format> [<regime>]`."""
    from dataclasses import replace

    from seqlm.data.corpora.dates import held_out_pairs

    if not config.corpus.hold_out_formats:
        raise SeqlmError("this model saw every date format in training, so none is held out: "
                         "train one with `seqlm seq2seq train --hold-out-formats FORMAT ...`")
    tests = {}
    for regime in config.regimes:
        corpus = replace(config.corpus, regime=regime)
        for fmt, pairs in held_out_pairs(corpus, size).items():
            tests[f"held-out {fmt} [{regime}]"] = pairs
    return tests


def run_eval(config: Seq2SeqEvalConfig, out=None, overwrite: bool = False, argv=None,
             device: str = "auto"):
    """Score a checkpoint on its test splits, a TSV file, or its held-out formats, into a run
    directory; returns the Run (scores in its metrics)."""
    from pathlib import Path

    from seqlm.checkpoint import load
    from seqlm.data.corpora import sha256_text
    from seqlm.runs.run import Run
    from seqlm.runs.seq2seq import load_pairs
    from seqlm.training.devices import Placement

    placement = Placement.resolve(device)
    loaded = load(config.checkpoint, placement.device, kind="seq2seq")
    if config.tsv is not None:
        path = Path(config.tsv)
        if not path.is_file():
            raise SeqlmError(f"test file {path} does not exist: give a source<TAB>target file")
        text = path.read_text(encoding="utf-8")
        tests, identity = {path.name: read_tsv(text, str(path))}, {"sha256": sha256_text(text)}
    elif config.held_out_formats:
        tests = held_out_tests(loaded.config, config.held_out_size)
        identity = {"held_out_formats": list(loaded.config.corpus.hold_out_formats)}
    else:
        data = load_pairs(loaded.config)
        tests = data.test
        identity = {r: c.identity() for r, c in data.corpora.items()}
    run = Run("seq2seq eval", config, out=out, overwrite=overwrite, argv=argv)
    with run:
        scores = {name: evaluate(loaded.model, loaded.vocab, pairs, config)[0]
                  for name, pairs in tests.items()}
        run.metrics["scores"] = scores
        run.data["test"] = identity
        run.extra["placement"] = placement.describe()
    return run

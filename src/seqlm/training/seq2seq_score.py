"""Scoring a seq2seq model on pairs: exact match with a 95% interval, overall and by
source-length bucket, per-character accuracy, and the list of errors. One scorer for
validation during training (`seqlm.training.seq2seq.validate`), `seqlm seq2seq eval`, the
lab's comparison and `Translator.score`, as `seqlm.training.evaluate` is the LMs'.

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


def exact_hits(outputs: Sequence[str], targets: Sequence[str]) -> list[bool]:
    """Per pair: is the output exactly the target (the whole string)?"""
    return [o == t for o, t in zip(outputs, targets, strict=True)]


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
    hits = exact_hits(outputs, targets)
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

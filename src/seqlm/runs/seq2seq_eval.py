"""`seqlm seq2seq eval`: a checkpoint scored on its test splits, a TSV file or its held-out
date formats, into a run directory; the three-line summary the CLI prints. The scores
themselves are the library's (`seqlm.training.seq2seq_score`). Leaves out: BLEU, edit
distance, calibration."""

from seqlm.config import Seq2SeqEvalConfig
from seqlm.data.pairs import Pair
from seqlm.errors import SeqlmError
from seqlm.training.seq2seq_score import evaluate


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

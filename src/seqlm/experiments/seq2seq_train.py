"""`seqlm seq2seq train` as one library call: load the dates regimes, train, test, manifest.

The training pairs of every regime in `config.regimes` are joined (plain dates and long
inputs in one model); validation takes the first pairs of each regime's valid split in turn;
the test scores are reported per regime on the held-out test splits. The vocabularies come
from the training pairs alone. Leaves out: several seeds per run (run it again with --seed).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from seqlm.config import CorpusConfig, Seq2SeqConfig
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.data.pairs import Pair, PairVocabs
from seqlm.errors import SeqlmError
from seqlm.experiments.run import Run
from seqlm.experiments.seq2seq_eval import evaluate
from seqlm.nn.seq2seq import Seq2Seq
from seqlm.progress import ProgressCallback
from seqlm.training.seq2seq import TrainState, load_model, train_seq2seq
from seqlm.training.threads import torch_threads

CorpusFn = Callable[[CorpusConfig], Corpus]


@dataclass(frozen=True)
class PairData:
    train: list[Pair]
    valid: list[Pair]
    test: dict[str, list[Pair]]  # regime -> held-out pairs
    corpora: dict[str, Corpus]  # regime -> corpus (for the manifest)


def interleave(lists: list[list[Pair]], n: int) -> list[Pair]:
    """The first `n` pairs taken from each list in turn: plain, long, plain, long, ..."""
    out = [p for group in zip(*lists, strict=False) for p in group]
    return out[:n]


def load_pairs(config: Seq2SeqConfig, test_size: int | None = None,
               corpus: CorpusFn | None = None) -> PairData:
    """Load each regime's corpus (generated from `config.corpus`) and cut the splits."""
    if config.corpus.name != "dates":
        raise SeqlmError(f"seq2seq trains on the dates corpus, not {config.corpus.name!r}: "
                         "use --corpus dates (or evaluate your own pairs with `eval --tsv`)")
    corpus = corpus or (lambda cfg: load_corpus(cfg))
    corpora = {r: corpus(replace(config.corpus, regime=r)) for r in config.regimes}
    train = [p for c in corpora.values() for p in c.pairs("train")]
    if config.train_size is not None:
        train = interleave([c.pairs("train") for c in corpora.values()], config.train_size)
    valid = interleave([c.pairs("valid") for c in corpora.values()], config.train.eval_size)
    test = {r: c.pairs("test")[:test_size] for r, c in corpora.items()}
    return PairData(train, valid, test, corpora)


def fit(config: Seq2SeqConfig, data: PairData, out: Path,
        progress: ProgressCallback | None = None) -> tuple[Seq2Seq, PairVocabs, TrainState]:
    """Build the model from the config (seeded) and train it; return the best checkpoint's
    model (best validation exact match), its vocabularies and the loop's record."""
    vocabs = PairVocabs.build(data.train)
    torch.manual_seed(config.train.seed)  # the initial weights are a function of the seed
    model = Seq2Seq(config.model, len(vocabs.source), len(vocabs.target))
    state = train_seq2seq(config, model, vocabs, data.train, data.valid, out, progress)
    best, vocabs, _ = load_model(out / "best.pt")
    return best, vocabs, state


def test_scores(model: Seq2Seq, vocabs: PairVocabs, data: PairData) -> dict[str, dict]:
    """Scores of `model` on each regime's test pairs."""
    return {regime: evaluate(model, vocabs, pairs)[0] for regime, pairs in data.test.items()}


class ResumedRun(Run):
    """A run that continues in its own directory: keeps what is there and, whatever happens,
    never deletes it (the checkpoints inside are the point)."""

    def __enter__(self) -> "ResumedRun":
        if not (self.path / "last.pt").is_file():
            raise SeqlmError(f"nothing to resume: {self.path / 'last.pt'} does not exist; "
                             "train without --resume first")
        self.lock.acquire()
        self.created, self.started = True, time.time()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.write_manifest(self.status)
            else:
                status = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
                self.write_manifest(status, error=f"{exc_type.__name__}: {exc}")
        finally:
            self.lock.release()


def run_training(config: Seq2SeqConfig, argv: list[str] | None = None,
                 progress: ProgressCallback | None = None) -> Run:
    """Train into a run directory (best.pt, last.pt, manifest.json) and score the test sets."""
    if config.resume and config.out is None:
        raise SeqlmError("--resume needs --out: the run directory that holds last.pt")
    kind = ResumedRun if config.resume else Run
    run = kind("seq2seq train", config, out=config.out, overwrite=config.overwrite, argv=argv,
               seed=config.train.seed)
    with run:
        data = load_pairs(config)
        for regime, c in data.corpora.items():
            run.data[f"dates[{regime}]"] = c.identity()
        with run.timer("train"):
            model, vocabs, state = fit(config, data, run.path, progress)
        run.artifact("best_checkpoint", "best.pt")
        run.artifact("last_checkpoint", "last.pt")
        with run.timer("test"), torch_threads(config.train.threads):
            scores = test_scores(model, vocabs, data)
        run.metrics.update(steps=state.step, best_step=state.best_step,
                           best_valid_exact=state.best_exact, history=state.history,
                           test={r: {k: v for k, v in s.items() if k != "errors"}
                                 for r, s in scores.items()})
        run.extra["test_errors"] = {r: s["errors"] for r, s in scores.items()}
    return run

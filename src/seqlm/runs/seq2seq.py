"""`seqlm seq2seq train` as one library call: load the dates regimes, train, test, manifest.

The training pairs of every regime in `config.regimes` are joined (plain dates and long
inputs in one model); validation takes the first pairs of each regime's valid split in turn;
the test scores are reported per regime on the held-out test splits. The vocabularies come
from the training pairs alone. Under torchrun every process calls `run_training`: rank 0
writes the run directory, reports progress and scores the test sets; the others train beside
it (`seqlm.training.distributed`). Leaves out: several seeds per run (run it again with
--seed).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from seqlm.checkpoint import BEST, LAST, Loaded, load
from seqlm.config import CorpusConfig, Seq2SeqConfig
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.data.pairs import Pair, PairVocabs
from seqlm.errors import SeqlmError
from seqlm.nn.seq2seq import Seq2Seq
from seqlm.progress import ProgressCallback
from seqlm.runs.run import Run
from seqlm.runs.training_run import Resumed, report_listeners, train_run
from seqlm.training.engine import Engine, Result, StopCheck
from seqlm.training.seq2seq import build_seq2seq_engine, train_seq2seq
from seqlm.training.seq2seq_score import evaluate
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
        progress: ProgressCallback | None = None, should_stop: StopCheck | None = None,
        payload: dict | None = None, source: str | Path = "the checkpoint",
        ) -> tuple[Loaded, Result]:
    """Train (or, given a last.pt `payload`, go on training) on `data`; return the best
    checkpoint (best validation exact match) and the loop's record."""
    vocabs = PairVocabs.from_dict(payload["vocab"]) if payload else PairVocabs.build(data.train)
    engine, result = train_seq2seq(config, vocabs, data.train, data.valid, out, progress,
                                   should_stop, payload, source)
    return load(out / BEST, engine.placement.device, kind="seq2seq"), result


def training_listeners(run: Run, tensorboard: str | Path | None) -> list:
    """The live report and, if asked, the TensorBoard log."""

    def record(engine) -> None:
        run.metrics.update(history=engine.history, evals=engine.evals)

    return report_listeners(run, record, tensorboard)


def test_scores(model: Seq2Seq, vocabs: PairVocabs, data: PairData) -> dict[str, dict]:
    """Scores of `model` on each regime's test pairs."""
    return {regime: evaluate(model, vocabs, pairs)[0] for regime, pairs in data.test.items()}


def run_training(config: Seq2SeqConfig, out: str | Path | None = None, overwrite: bool = False,
                 resume: str | Path | Resumed | None = None, argv: list[str] | None = None,
                 progress: ProgressCallback | None = None,
                 should_stop: StopCheck | None = None,
                 tensorboard: str | Path | None = None) -> Run:
    """Train into a run directory (best.pt, last.pt, manifest.json) and score the test sets
    (`seqlm.runs.training_run.train_run` with the family `Seq2SeqPairs`); `resume` is a run
    (or its last.pt) to go on from; `tensorboard` a folder for TensorBoard's event files.
    After every evaluation the manifest and report.html are written again. Divergence keeps
    the run directory and its checkpoints (status "diverged", DivergedError raised); under
    torchrun a lost process stops every rank with PeerLostError, the manifest written."""
    return train_run(Seq2SeqPairs(), config, out, overwrite, resume, argv, progress,
                     should_stop, tensorboard)


@dataclass(frozen=True)
class Seq2SeqData:
    pairs: PairData
    vocabs: PairVocabs


class Seq2SeqPairs:
    """The seq2seq family of `train_run`: the dates regimes as pairs, vocabularies from the
    training pairs, `Seq2SeqTask`'s engine, the best checkpoint scored on each regime's test
    pairs, attention heatmaps."""

    kind, command = "seq2seq", "seq2seq train"

    def resolve(self, config: Seq2SeqConfig) -> Seq2SeqConfig:
        return config

    def seed(self, config: Seq2SeqConfig) -> int:
        return config.train.seed

    def load_data(self, config: Seq2SeqConfig, resumed: Resumed | None,
                  progress) -> Seq2SeqData:
        data = load_pairs(config)
        vocabs = PairVocabs.from_dict(resumed.payload["vocab"]) if resumed else \
            PairVocabs.build(data.train)
        return Seq2SeqData(data, vocabs)

    def listeners(self, run: Run, config: Seq2SeqConfig, data: Seq2SeqData,
                  tensorboard) -> list:
        return training_listeners(run, tensorboard)

    def engine(self, config: Seq2SeqConfig, data: Seq2SeqData, run: Run,
               resumed: Resumed | None, placement, world, listeners: list) -> Engine:
        payload, source = (resumed.payload, resumed.source) if resumed else (None, None)
        return build_seq2seq_engine(config, data.vocabs, data.pairs.train, data.pairs.valid,
                                    run.path, payload, source, placement, world, listeners)

    def describe(self, run: Run, data: Seq2SeqData) -> None:
        for regime, c in data.pairs.corpora.items():
            run.data[f"dates[{regime}]"] = c.identity()

    def record(self, run: Run, engine: Engine, result: Result | None, data: Seq2SeqData,
               config: Seq2SeqConfig, progress, should_stop) -> None:
        if result is not None:  # stopped by an error: the manifest says why
            record_results(run, engine, result, data.pairs, config)


def record_results(run: Run, engine: Engine, result: Result, data: PairData,
                   config: Seq2SeqConfig) -> None:
    """The loop's record, and (rank 0) the best checkpoint's scores on the test sets."""
    run.artifact("best_checkpoint", BEST)
    run.artifact("last_checkpoint", LAST)
    run.metrics.update(status=result.status, steps=result.position.step,
                       best_step=result.position.best_step,
                       best_valid_exact=1.0 - result.position.best,
                       tokens_per_second=round(result.tokens_per_second, 1),
                       history=result.history, evals=result.evals)
    if result.status == "interrupted":
        run.status = "interrupted"
        return
    if not run.writes:
        return
    best = load(run.path / BEST, engine.placement.device, kind="seq2seq")
    with run.timer("test"), torch_threads(config.engine.threads):
        scores = test_scores(best.model, best.vocab, data)
    run.metrics["test"] = {r: {k: v for k, v in s.items() if k != "errors"}
                           for r, s in scores.items()}
    run.extra["test_errors"] = {r: s["errors"] for r, s in scores.items()}
    if config.model.attention != "none":
        draw_heatmaps(run, best, run.extra["test_errors"])


HEATMAP_SOURCES = 2  # test errors (or fixed examples) drawn for the page


def draw_heatmaps(run: Run, best: Loaded, errors: dict[str, list[dict]]) -> None:
    """Where the best model looks while it writes, test errors first, else fixed examples:
    greedy translations drawn as files of the run, which its page shows."""
    from seqlm.decoding.seq2seq import translate
    from seqlm.report.seq2seq_plots import attention_heatmap

    sources = [e["source"] for found in errors.values() for e in found]
    sources = (sources + ["March 14, 2024", "14.03.2024"])[:HEATMAP_SOURCES]
    drawn = []
    for i, t in enumerate(translate(best.model, best.vocab, sources), 1):
        path = f"heatmap_{i}.png"
        attention_heatmap(t, run.artifact(f"heatmap_{i}", path), f"{t.source} -> {t.output}")
        drawn.append({"source": t.source, "output": t.output, "path": path})
    run.extra["heatmaps"] = drawn

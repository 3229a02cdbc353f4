"""Language-model runs: `train` and `eval` as run directories with manifests and plots.

`run_train` is `train_run` (`seqlm.runs.training_run`) with the family `LM`: it loads the
corpus, builds (or, resuming, restores) the vocabulary, the model and the engine, trains,
scores the best weights on the validation split, draws the loss curve, samples the best
weights at three temperatures and records config, data identity, device,
metrics (the history of training among them) and timings in the manifest; after every
evaluation the manifest and report.html are written again, and with `tensorboard` the
engine's records go to TensorBoard too. Resuming follows `seqlm.runs.training_run`.
Under torchrun every process calls `run_train` (`seqlm.training.distributed`): rank 0 writes
the run directory, reports progress and scores the best weights; the other ranks train
beside it and return a `Run` that wrote nothing.
`run_eval` scores a checkpoint on a split or a text file. Leaves out: hyper-parameter sweeps.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from seqlm.checkpoint import BEST, LAST, load, read_checkpoint
from seqlm.config import CompareConfig, EvalConfig, SampleConfig, TrainConfig, to_dict
from seqlm.data.corpora import FILE_PREFIX, Corpus, load_corpus, sha256_text
from seqlm.data.corpora.text import regular_file
from seqlm.data.lm_data import build_vocab, encode_splits, encode_text
from seqlm.data.vocab import UNK_ID, Vocab
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.progress import ProgressCallback
from seqlm.report.lm_plots import loss_curves
from seqlm.runs.run import Run
from seqlm.runs.training_run import Resumed, report_listeners, train_run
from seqlm.training.devices import Placement
from seqlm.training.distributed import World
from seqlm.training.engine import Engine, Result
from seqlm.training.evaluate import evaluate_stream
from seqlm.training.lm import LMTask
from seqlm.training.threads import torch_threads


def run_train(config: TrainConfig, out: str | Path | None = None, overwrite: bool = False,
              resume: str | Path | Resumed | None = None, argv: list[str] | None = None,
              progress: ProgressCallback | None = None,
              should_stop: Callable[[], bool] | None = None,
              tensorboard: str | Path | None = None) -> Run:
    """Train a language model into a run directory (`seqlm.runs.training_run.train_run`);
    `resume` is a run (or its last.pt) to go on from; `tensorboard` a folder for TensorBoard's
    event files. The run's status is "finished", "time budget", "early stop", "interrupted"
    (should_stop), "diverged" or, under torchrun, "failed" when a process was lost (then
    DivergedError or PeerLostError is raised after the manifest is written)."""
    return train_run(LM(), config, out, overwrite, resume, argv, progress, should_stop,
                     tensorboard)


@dataclass(frozen=True)
class LMData:
    corpus: Corpus
    vocab: Vocab
    streams: dict  # split -> TokenStream


class LM:
    """The language-model family of `train_run`: a corpus as token streams, `LMTask`, the
    best weights scored statefully on the validation split, samples and the loss curve."""

    kind, command = "lm", "train"

    def resolve(self, config: TrainConfig) -> TrainConfig:
        return absolute_file_corpus(config)

    def seed(self, config: TrainConfig) -> int:
        return config.seed

    def load_data(self, config: TrainConfig, resumed: Resumed | None, progress) -> LMData:
        payload, source = (resumed.payload, resumed.source) if resumed else (None, None)
        corpus = load_training_corpus(config, source, progress)
        if payload is not None and payload["data"].get("sha256") not in (None, corpus.sha256):
            raise SeqlmError(f"the corpus differs from the one {source} was trained on (sha256 "
                             "mismatch): resume with the same corpus and options")
        vocab = Vocab.from_dict(payload["vocab"]) if payload else build_vocab(
            corpus.text("train"), config.model)
        return LMData(corpus, vocab, encode_splits(corpus.splits, config.model.unit, vocab))

    def listeners(self, run: Run, config: TrainConfig, data: LMData, tensorboard) -> list:
        return training_listeners(run, config, data.vocab, tensorboard)

    def engine(self, config: TrainConfig, data: LMData, run: Run, resumed: Resumed | None,
               placement: Placement, world: World, listeners: list) -> Engine:
        task = LMTask(config, data.vocab, data.streams["train"], data.streams.get("valid"),
                      placement.device, data.corpus.sha256, world)
        torch.manual_seed(config.seed)  # the initial weights are a function of the seed
        model = build_model("lm", config, data.vocab)
        world.fork_rng(config.seed)
        engine = Engine(task, model, config.engine, run.path, placement, world, listeners)
        if resumed is not None:
            engine.restore(resumed.payload, resumed.source)
        return engine

    def describe(self, run: Run, data: LMData) -> None:
        run.data["corpus"] = data.corpus.identity()
        run.data["vocab_size"] = len(data.vocab)

    def record(self, run: Run, engine: Engine, result: Result | None, data: LMData,
               config: TrainConfig, progress, should_stop) -> None:
        """The loss curve and the sample trail, then (training finished) the best weights
        scored and sampled."""
        if run.writes:
            record_training(run, engine, config)
            trail = next((x for x in engine.listeners if hasattr(x, "samples")), None)
            if trail is not None:
                run.metrics["sample_trail"] = trail.samples
        if result is not None:
            finish(run, engine, result, data.streams.get("valid"), progress, should_stop)


def training_listeners(run: Run, config: TrainConfig, vocab: Vocab,
                       tensorboard: str | Path | None) -> list:
    """The sample trail (`seqlm.runs.sample_trail`), the live report (history and
    trail into the manifest, report.html after each evaluation) and, if asked, the
    TensorBoard log with samples at each evaluation."""
    from seqlm.runs.sample_trail import SampleTrail

    trail = SampleTrail(vocab, config.model.unit)

    def record(engine: Engine) -> None:
        run.metrics.update(history=engine.history, evals=engine.evals,
                           sample_trail=trail.samples)

    return [trail, *report_listeners(run, record, tensorboard, lambda model: samples_of(
        model, vocab, config, REPORT_SAMPLE_LENGTH))]


REPORT_SAMPLE_LENGTH = 200  # tokens per sample on the page and in TensorBoard


def samples_of(model, vocab: Vocab, config: TrainConfig, length: int) -> list[dict]:
    """One sample per temperature of `seqlm compare` (low, middle, high), after a line break,
    from the run's seed."""
    from seqlm.decoding.lm_text import decode_samples

    sample = replace(SampleConfig(), length=length, temperatures=CompareConfig.temperatures,
                     seed=config.seed)
    return [{"temperature": s["temperature"], "text": s["text"]}
            for s in decode_samples(model, vocab, config.model.unit, sample)]


def finish(run: Run, engine: Engine, result: Result, valid, progress, should_stop) -> None:
    """Metrics, status, the best weights scored on the validation split, and their samples."""
    run.metrics.update(train_metrics(result))
    run.status = "interrupted" if result.status == "interrupted" else "ok"
    if result.status == "interrupted" or valid is None or not result.evals or not run.writes:
        return
    with run.timer("final_eval"), torch_threads(engine.config.threads):
        best = score_best(engine, valid, progress, should_stop)
    if best is None:
        run.status = run.metrics["status"] = "interrupted"
        return
    run.metrics["best_valid_full"] = best
    with run.timer("samples"), torch_threads(engine.config.threads):  # the best weights
        run.metrics["samples"] = samples_of(engine.model, engine.task.vocab,
                                            engine.task.config, REPORT_SAMPLE_LENGTH)
    run.metrics["sample_length"] = REPORT_SAMPLE_LENGTH


def absolute_file_corpus(config: TrainConfig) -> TrainConfig:
    """A `file:` corpus named by its absolute path, so a resume from elsewhere finds it."""
    name = config.corpus.name
    if not name.startswith(FILE_PREFIX):
        return config
    path = Path(name[len(FILE_PREFIX):]).expanduser().absolute()
    return replace(config, corpus=replace(config.corpus, name=f"{FILE_PREFIX}{path}"))


def load_training_corpus(config: TrainConfig, resume: str | Path | None,
                         progress: ProgressCallback | None):
    """The corpus; when resuming from a file that has moved, say how to point at it."""
    name = config.corpus.name
    if resume is not None and name.startswith(FILE_PREFIX) \
            and not Path(name[len(FILE_PREFIX):]).exists():
        raise SeqlmError(f"the corpus {name} of {resume} does not exist any more: if it "
                         "moved, pass --corpus file:NEWPATH (its sha256 must match)")
    return load_corpus(config.corpus, progress)


def record_training(run: Run, engine: Engine, config: TrainConfig) -> None:
    """The loss curve and the checkpoints, as artifacts of the run."""
    loss_curves({config.model.cell: engine.history}, {config.model.cell: engine.evals},
                run.artifact("loss_curve", "loss_curve.png"),
                title=f"{config.model.cell} on {config.corpus.name}")
    for name in (LAST, BEST):
        if (run.path / name).is_file():
            run.artifact(name.removesuffix(".pt"), name)


def score_best(engine: Engine, valid, progress: ProgressCallback | None = None,
               should_stop: Callable[[], bool] | None = None) -> dict | None:
    """The best checkpoint's weights scored on the validation split (its first
    `final_eval_max_tokens`; None = all of it). Training-time evaluations may have read only
    its first `eval_max_tokens`; if the last one already scored these weights on the same
    tokens, its numbers are reused. None if `should_stop()` cut the pass short."""
    c = engine.task.config
    best = read_checkpoint(engine.out_dir / BEST, "lm", required=("model",))
    last = engine.evals[-1]
    if last["step"] == best["step"] and c.eval_max_tokens == c.final_eval_max_tokens:
        return dict(last)
    engine.model.load_state_dict(best["model"])
    with engine.placement.autocast():
        scores = evaluate_stream(engine.model, valid, c.eval_batch_size, c.window,
                                 c.final_eval_max_tokens, progress, should_stop)
    return None if scores is None else {"step": best["step"], **scores}


def train_metrics(result: Result) -> dict:
    last = result.evals[-1] if result.evals else {}
    return {
        "status": result.status, "steps": result.position.step,
        "parameters": result.parameters, "tokens_per_second": round(result.tokens_per_second, 1),
        "best_valid_loss_nats": min(e["loss_nats"] for e in result.evals)
        if result.evals else None,
        "final_valid": last, "final_train_loss": result.history[-1]["loss"]
        if result.history else None, "history": result.history, "evals": result.evals,
    }


def run_eval(config: EvalConfig, out: str | Path | None = None, overwrite: bool = False,
             argv: list[str] | None = None, progress: ProgressCallback | None = None,
             should_stop: Callable[[], bool] | None = None, device: str = "auto"
             ) -> tuple[Run, dict]:
    """Score a checkpoint on a split of its own corpus, or on a text file. The metrics count
    the tokens the model never saw in training (scored as <unk>)."""
    placement = Placement.resolve(device)
    loaded = load(config.checkpoint, placement.device, kind="lm")
    trained = loaded.config
    if config.text_file is not None:
        text, source, identity = read_eval_text(Path(config.text_file))
    else:
        corpus = load_corpus(trained.corpus, progress)
        text, source = corpus.text(config.split), f"{trained.corpus.name}:{config.split}"
        identity = corpus.identity()
    stream = encode_text(text, trained.model.unit, loaded.vocab)
    run = Run("eval", config, out=out, overwrite=overwrite, argv=argv)
    with run:
        with run.timer("eval"):
            metrics = evaluate_stream(loaded.model, stream, config.batch_size,
                                      config.window or trained.window, config.max_tokens,
                                      progress, should_stop)
        if metrics is None:
            run.status = "interrupted"
            metrics = {}
        unknown = int((stream.ids == UNK_ID).sum())
        run.metrics.update({"source": source, "checkpoint": str(loaded.path), **metrics,
                            "unknown_tokens": unknown, "unknown_share": unknown / len(stream)})
        run.extra["model_config"] = to_dict(trained)
        run.extra["placement"] = placement.describe()
        run.data["corpus"] = identity
    return run, run.metrics


def read_eval_text(path: Path) -> tuple[str, str, dict]:
    """A UTF-8 text file to score: (text, its name, its identity for the manifest)."""
    try:
        text = regular_file(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SeqlmError(f"text file {path} is not UTF-8 ({e.reason}): convert it") from None
    return text, str(path), {"name": f"file:{path}", "sha256": sha256_text(text)}

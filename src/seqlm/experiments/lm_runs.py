"""Language-model runs: `train` and `eval` as run directories with manifests and plots.

`run_train` loads the corpus, builds (or, resuming, restores) the vocabulary and the trainer,
trains, draws the loss curve and records config, data identity, metrics and timings in the
manifest. Resuming reads another run's checkpoint and writes a new run directory, so nothing
of the interrupted run is overwritten. `run_eval` scores a checkpoint on a split or a text
file. Leaves out: hyper-parameter sweeps.
"""

from collections.abc import Callable
from pathlib import Path

from seqlm.checkpoint import load_checkpoint
from seqlm.config import TrainConfig
from seqlm.data.corpora import load_corpus, sha256_text
from seqlm.data.vocab import Vocab
from seqlm.errors import SeqlmError
from seqlm.experiments.lm_plots import loss_curves
from seqlm.experiments.run import Run
from seqlm.progress import ProgressCallback
from seqlm.training.evaluate import evaluate_stream
from seqlm.training.lm import BEST, LATEST, DivergedError, LMTrainer, load_lm
from seqlm.training.lm_data import build_vocab, encode_splits, encode_text


def run_train(config: TrainConfig, out: str | Path | None = None, overwrite: bool = False,
              resume: str | Path | None = None, argv: list[str] | None = None,
              progress: ProgressCallback | None = None,
              should_stop: Callable[[], bool] | None = None) -> Run:
    """Train a language model into a run directory; `resume` is a checkpoint to go on from."""
    ckpt = load_checkpoint(resume, "lm", required=("config", "vocab", "model", "position")) \
        if resume is not None else None
    if config.max_steps < 1 or config.eval_every < 1 or config.log_every < 1:
        raise SeqlmError("max_steps, eval_every and log_every must be at least 1")
    corpus = load_corpus(config.corpus, progress)
    if ckpt is not None and ckpt["data"].get("sha256") not in (None, corpus.sha256):
        raise SeqlmError(f"the corpus differs from the one checkpoint {resume} was trained on "
                         "(sha256 mismatch): resume with the same corpus and options")
    vocab = Vocab.from_dict(ckpt["vocab"]) if ckpt else build_vocab(corpus.text("train"),
                                                                    config.model)
    streams = encode_splits(corpus.splits, config.model.unit, vocab)
    run = Run("train", config, out=out, overwrite=overwrite, argv=argv)
    diverged = None
    with run:
        trainer = LMTrainer(config, vocab, streams["train"], streams.get("valid"), run.path,
                            data_sha256=corpus.sha256)
        if ckpt is not None:
            trainer.restore(ckpt)
            run.extra["resumed_from"] = str(resume)
        run.data["corpus"] = corpus.identity()
        run.data["vocab_size"] = len(vocab)
        try:
            with run.timer("train"):
                result = trainer.run(progress, should_stop)
        except DivergedError as e:
            diverged = e
            run.extra["status"] = "diverged"
        history, evals = trainer.history, trainer.evals
        loss_curves({config.model.cell: history}, {config.model.cell: evals},
                    run.artifact("loss_curve", "loss_curve.png"),
                    title=f"{config.model.cell} on {config.corpus.name}")
        for name in (LATEST, BEST):
            if (run.path / name).is_file():
                run.artifact(name.removesuffix(".pt"), name)
        if diverged is None:
            run.metrics.update(train_metrics(result))
    if diverged is not None:
        raise diverged
    return run


def train_metrics(result) -> dict:
    last = result.evals[-1] if result.evals else {}
    return {
        "status": result.status, "steps": result.position.step, "epochs": result.position.epoch,
        "parameters": result.parameters, "tokens_per_second": round(result.tokens_per_second, 1),
        "best_valid_loss_nats": result.position.best_valid if result.evals else None,
        "final_valid": last, "final_train_loss": result.history[-1]["loss"]
        if result.history else None,
    }


def run_eval(checkpoint: str | Path, split: str = "valid", text_file: str | Path | None = None,
             batch_size: int = 16, window: int | None = None, out: str | Path | None = None,
             overwrite: bool = False, argv: list[str] | None = None,
             progress: ProgressCallback | None = None) -> tuple[Run, dict]:
    """Score a checkpoint on `split` of its own corpus, or on a text file."""
    loaded = load_lm(checkpoint)
    config = loaded.config
    unit = config.model.unit
    if text_file is not None:
        path = Path(text_file)
        if not path.is_file():
            raise SeqlmError(f"text file {path} does not exist: give a UTF-8 text file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise SeqlmError(f"text file {path} is not UTF-8 ({e.reason}): convert it") from None
        identity = {"name": f"file:{path}", "sha256": sha256_text(text)}
        source = str(path)
    else:
        corpus = load_corpus(config.corpus, progress)
        text, source = corpus.text(split), f"{config.corpus.name}:{split}"
        identity = corpus.identity()
    stream = encode_text(text, unit, loaded.vocab)
    run = Run("eval", config, out=out, overwrite=overwrite, argv=argv)
    with run:
        with run.timer("eval"):
            metrics = evaluate_stream(loaded.model, stream, batch_size, window or config.window)
        run.metrics.update({"source": source, "checkpoint": str(checkpoint), **metrics})
        run.data["corpus"] = identity
    return run, run.metrics

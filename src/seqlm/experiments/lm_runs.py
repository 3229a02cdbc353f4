"""Language-model runs: `train` and `eval` as run directories with manifests and plots.

`run_train` loads the corpus, builds (or, resuming, restores) the vocabulary and the trainer,
trains, draws the loss curve and records config, data identity, metrics and timings in the
manifest. Resuming reads another run's checkpoint and writes a new run directory, so nothing
of the interrupted run is overwritten. `run_eval` scores a checkpoint on a split or a text
file. Leaves out: hyper-parameter sweeps.
"""

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from seqlm.checkpoint import load_checkpoint
from seqlm.config import EvalConfig, TrainConfig, to_dict
from seqlm.data.corpora import FILE_PREFIX, load_corpus, sha256_text
from seqlm.data.vocab import UNK_ID, Vocab
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
    """Train a language model into a run directory; `resume` is a checkpoint to go on from.
    The run's status is "finished", "time budget", "early stop", "interrupted" (should_stop)
    or "diverged" (then DivergedError is raised after the manifest is written)."""
    ckpt = load_checkpoint(resume, "lm", required=("config", "vocab", "model", "position")) \
        if resume is not None else None
    config = absolute_file_corpus(config)
    corpus = load_training_corpus(config, resume, progress)
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
            trainer.restore(ckpt, resume)
            run.extra["resumed_from"] = str(resume)
            previous_best = Path(resume).with_name(BEST)
            if previous_best.is_file():  # the new run directory stands on its own
                shutil.copyfile(previous_best, run.path / BEST)
        run.data["corpus"] = corpus.identity()
        run.data["vocab_size"] = len(vocab)
        try:
            with run.timer("train"):
                result = trainer.run(progress, should_stop)
        except DivergedError as e:
            diverged, run.status = e, "diverged"
        record_training(run, trainer, config)
        if diverged is None:
            run.metrics.update(train_metrics(result))
            run.status = "interrupted" if result.status == "interrupted" else "ok"
            if result.status != "interrupted" and "valid" in streams and result.evals:
                with run.timer("final_eval"):
                    best = score_best(trainer, streams["valid"], progress, should_stop)
                if best is None:
                    run.status = run.metrics["status"] = "interrupted"
                else:
                    run.metrics["best_valid_full"] = best
    if diverged is not None:
        raise diverged
    return run


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
        raise SeqlmError(f"the corpus {name} of checkpoint {resume} does not exist any more: "
                         "if it moved, pass --corpus file:NEWPATH (its sha256 must match)")
    return load_corpus(config.corpus, progress)


def record_training(run: Run, trainer: LMTrainer, config: TrainConfig) -> None:
    """The loss curve and the checkpoints, as artifacts of the run."""
    loss_curves({config.model.cell: trainer.history}, {config.model.cell: trainer.evals},
                run.artifact("loss_curve", "loss_curve.png"),
                title=f"{config.model.cell} on {config.corpus.name}")
    for name in (LATEST, BEST):
        if (run.path / name).is_file():
            run.artifact(name.removesuffix(".pt"), name)


def score_best(trainer: LMTrainer, valid, progress: ProgressCallback | None = None,
               should_stop: Callable[[], bool] | None = None) -> dict | None:
    """The best checkpoint's weights scored on the validation split (its first
    `final_eval_max_tokens`; None = all of it). Training-time evaluations may have read only
    its first `eval_max_tokens`; if the last one already scored these weights on the same
    tokens, its numbers are reused. None if `should_stop()` cut the pass short."""
    c = trainer.config
    best = load_checkpoint(trainer.out_dir / BEST, "lm", required=("model",))
    last = trainer.evals[-1]
    if last["step"] == best["step"] and c.eval_max_tokens == c.final_eval_max_tokens:
        return {k: v for k, v in last.items()}
    trainer.model.load_state_dict(best["model"])
    scores = evaluate_stream(trainer.model, valid, c.eval_batch_size, c.window,
                             c.final_eval_max_tokens, progress, should_stop)
    return None if scores is None else {"step": best["step"], **scores}


def train_metrics(result) -> dict:
    last = result.evals[-1] if result.evals else {}
    return {
        "status": result.status, "steps": result.position.step, "epochs": result.position.epoch,
        "parameters": result.parameters, "tokens_per_second": round(result.tokens_per_second, 1),
        "best_valid_loss_nats": result.position.best_valid if result.evals else None,
        "final_valid": last, "final_train_loss": result.history[-1]["loss"]
        if result.history else None,
    }


def run_eval(config: EvalConfig, out: str | Path | None = None, overwrite: bool = False,
             argv: list[str] | None = None, progress: ProgressCallback | None = None,
             should_stop: Callable[[], bool] | None = None) -> tuple[Run, dict]:
    """Score a checkpoint on a split of its own corpus, or on a text file. The metrics count
    the tokens the model never saw in training (scored as <unk>)."""
    loaded = load_lm(config.checkpoint)
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
        run.metrics.update({"source": source, "checkpoint": str(config.checkpoint), **metrics,
                            "unknown_tokens": unknown, "unknown_share": unknown / len(stream)})
        run.extra["model_config"] = to_dict(trained)
        run.data["corpus"] = identity
    return run, run.metrics


def read_eval_text(path: Path) -> tuple[str, str, dict]:
    """A UTF-8 text file to score: (text, its name, its identity for the manifest)."""
    if not path.is_file():
        raise SeqlmError(f"text file {path} does not exist: give a UTF-8 text file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SeqlmError(f"text file {path} is not UTF-8 ({e.reason}): convert it") from None
    return text, str(path), {"name": f"file:{path}", "sha256": sha256_text(text)}

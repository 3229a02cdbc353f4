"""The seq2seq training loop: teacher forcing or scheduled sampling, Adam at the learning rate
of `seqlm.training.schedule` (the schedule language-model training uses), clipping, a step
budget, validation by greedy exact match, the best checkpoint, and exact resume.

Scheduled sampling (Bengio, Vinyals, Jaitly & Shazeer 2015, sec. 2.4): at step i each decoder
input after `<s>` is the gold token with probability eps_i, else a token sampled from the
model's previous output distribution (one coin per token). The schedules of eps_i:
    none              eps_i = 1 (teacher forcing)
    linear            eps_i = max(eps_min, 1 - c * i)
    exponential       eps_i = k ** i              (k < 1)
    inverse_sigmoid   eps_i = k / (k + exp(i / k)) (k >= 1)

Two checkpoints in the run directory: `best.pt` (the model at the best validation exact match,
what translate and eval load) and `last.pt` (model, optimiser, RNG states, history: resuming
from it reproduces an uninterrupted run exactly, because batch i and the sampling coins are
functions of the seed and the step alone). Leaves out: multi-GPU, mixed precision, early
stopping (the budget is fixed in advance).
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seqlm.checkpoint import load_checkpoint, save_checkpoint
from seqlm.config import Seq2SeqConfig, Seq2SeqTrainConfig, from_dict, to_dict
from seqlm.data.pairs import Pair, PairBatch, PairBatches, PairVocabs
from seqlm.decoding.seq2seq import translate
from seqlm.errors import SeqlmError
from seqlm.nn.seq2seq import Seq2Seq
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.training.schedule import LRSchedule
from seqlm.training.threads import torch_threads

KIND = "seq2seq"
SCHEDULES = ("none", "linear", "exponential", "inverse_sigmoid")


def teacher_probability(config: Seq2SeqTrainConfig, step: int) -> float:
    """eps_i: the probability of feeding the gold previous token at training step `step`."""
    if config.schedule == "none":
        return 1.0
    if config.schedule == "linear":
        return max(config.ss_min_teacher, 1.0 - config.ss_linear_slope * step)
    if config.schedule == "exponential":
        return config.ss_exp_base ** step
    if config.schedule == "inverse_sigmoid":
        k = config.ss_sigmoid_k
        return k / (k + math.exp(min(step / k, 700.0)))  # min: exp overflows past ~709
    raise SeqlmError(f"unknown schedule {config.schedule!r}: choose {', '.join(SCHEDULES)}")


@dataclass
class TrainState:
    """What `last.pt` holds besides the model and optimiser."""

    step: int = 0
    best_exact: float = -1.0
    best_step: int = -1
    history: list[dict] = field(default_factory=list)


def as_tensors(batch: PairBatch) -> tuple[torch.Tensor, ...]:
    t = torch.from_numpy
    return (t(batch.source.ids), t(batch.source.lengths), t(batch.target_in.ids),
            t(batch.target_out.ids))


def validate(model: Seq2Seq, vocabs: PairVocabs, pairs: list[Pair]) -> dict[str, float]:
    """Greedy exact match and teacher-forced loss (nats per target token) on `pairs`."""
    outputs = translate(model, vocabs, [s for s, _ in pairs])
    exact = sum(o.output == t for o, (_, t) in zip(outputs, pairs, strict=True)) / len(pairs)
    batches = PairBatches(pairs, vocabs, len(pairs), seed=0, max_source_len=10**9)
    with torch.no_grad():
        loss = model(*as_tensors(batches.gather(np.arange(len(pairs)))))[1]
    return {"valid_exact": exact, "valid_loss_nats": float(loss)}


def save_model(path: Path, model: Seq2Seq, vocabs: PairVocabs, config: Seq2SeqConfig,
               extra: dict | None = None) -> Path:
    payload = {"config": to_dict(config), "vocabs": vocabs.to_dict(),
               "model": model.state_dict(), **(extra or {})}
    return save_checkpoint(path, KIND, payload)


def load_model(path: str | Path) -> tuple[Seq2Seq, PairVocabs, Seq2SeqConfig]:
    """Rebuild a trained model from its checkpoint: the config decides the architecture."""
    payload = load_checkpoint(path, KIND)
    config = from_dict(Seq2SeqConfig, payload["config"])
    vocabs = PairVocabs.from_dict(payload["vocabs"])
    model = Seq2Seq(config.model, len(vocabs.source), len(vocabs.target))
    model.load_state_dict(payload["model"])
    model.eval()
    return model, vocabs, config


def restore(path: Path, model, optimizer, schedule: LRSchedule, generator) -> TrainState:
    """Load `last.pt` into the live objects; return the loop's counters."""
    payload = load_checkpoint(path, KIND)
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    schedule.load_state_dict(payload["lr_schedule"])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    return TrainState(**payload["state"])


def train_step(model, optimizer, schedule: LRSchedule, batch: PairBatch,
               config: Seq2SeqTrainConfig, step: int,
               generator: torch.Generator) -> tuple[float, float]:
    """One optimiser step; returns (loss in nats per target token, gradient norm)."""
    schedule.apply(optimizer, step)
    model.train()
    _, loss, _ = model(*as_tensors(batch), teacher_prob=teacher_probability(config, step),
                       generator=generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
    optimizer.step()
    return float(loss.detach()), float(norm)


@dataclass
class Optimisation:
    """The live objects a step changes besides the model; all of them go into `last.pt`."""

    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    generator: torch.Generator  # the scheduled-sampling coins


def train_seq2seq(config: Seq2SeqConfig, model: Seq2Seq, vocabs: PairVocabs,
                  train_pairs: list[Pair], valid_pairs: list[Pair], out: Path,
                  progress: ProgressCallback | None = None) -> TrainState:
    """Train `model` for `config.train.steps` steps, writing best.pt and last.pt into `out`;
    with `config.resume`, continue from `out/last.pt`. Runs on `config.train.threads` torch
    threads and gives the process its previous thread count back."""
    tc = config.train
    teacher_probability(tc, 0)  # an unknown schedule fails before any work
    batches = PairBatches(train_pairs, vocabs, tc.batch_size, tc.seed,
                          config.model.max_source_len)
    opt = Optimisation(torch.optim.Adam(model.parameters(), lr=tc.lr_schedule.lr),
                       LRSchedule(tc.lr_schedule, tc.steps),
                       torch.Generator().manual_seed(tc.seed))
    state = TrainState()
    if config.resume:
        if not (out / "last.pt").is_file():
            raise SeqlmError(f"nothing to resume: {out / 'last.pt'} does not exist; "
                             "train without --resume first")
        state = restore(out / "last.pt", model, opt.optimizer, opt.schedule, opt.generator)
    cache: dict = {}
    losses: list[float] = []
    started = time.perf_counter()
    with torch_threads(tc.threads):
        while state.step < tc.steps:
            loss, _ = train_step(model, opt.optimizer, opt.schedule,
                                 batches.batch(state.step, cache), tc, state.step,
                                 opt.generator)
            losses.append(loss)
            state.step += 1
            metrics = {"loss": loss, "teacher_prob": teacher_probability(tc, state.step - 1)}
            if state.step % tc.eval_every == 0 or state.step == tc.steps:
                evaluate_and_save(config, model, vocabs, valid_pairs, out, opt, state, losses,
                                  time.perf_counter() - started)
                losses = []
                metrics["valid_exact"] = state.history[-1]["valid_exact"]
            report(progress, Progress("train", state.step, tc.steps, unit="step",
                                      metrics=metrics))
    return state


def evaluate_and_save(config, model, vocabs, valid_pairs, out: Path, opt: Optimisation,
                      state: TrainState, losses: list[float], seconds: float) -> None:
    """Validate, feed plateau decay, keep best.pt if this is the best so far, always write
    last.pt."""
    scores = validate(model, vocabs, valid_pairs)
    opt.schedule.observe(scores["valid_loss_nats"])
    state.history.append({"step": state.step, "train_loss_nats": sum(losses) / len(losses),
                          "lr": opt.schedule.lr(state.step - 1),
                          "teacher_prob": teacher_probability(config.train, state.step - 1),
                          "seconds": round(seconds, 2), **scores})
    if scores["valid_exact"] > state.best_exact:
        state.best_exact, state.best_step = scores["valid_exact"], state.step
        save_model(out / "best.pt", model, vocabs, config, {"step": state.step})
    save_model(out / "last.pt", model, vocabs, config, {
        "optimizer": opt.optimizer.state_dict(), "lr_schedule": opt.schedule.state_dict(),
        "generator": opt.generator.get_state(), "torch_rng": torch.get_rng_state(),
        "state": vars(state).copy()})

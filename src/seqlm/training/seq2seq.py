"""The seq2seq task of the training engine: teacher forcing or scheduled sampling, validated
by greedy exact match.

Scheduled sampling (Bengio, Vinyals, Jaitly & Shazeer 2015, sec. 2.4): at update i each
decoder input after `<s>` is the gold token with probability eps_i, else a token sampled from
the model's previous output distribution (one coin per token). The schedules of eps_i:
    none              eps_i = 1 (teacher forcing)
    linear            eps_i = max(eps_min, 1 - c * i)
    exponential       eps_i = k ** i              (k < 1)
    inverse_sigmoid   eps_i = k / (k + exp(i / k)) (k >= 1)

Batch i is a function of the seed and i alone (`PairBatches`), so the task's checkpointed
state is only the sampling coins' generator. With `engine.accumulate` = N an update's batch
holds N*B pairs, split into N micro-batches of B; the engine divides every micro-batch's
summed loss by the target tokens of all of them, which makes the update that of the larger
batch. The best checkpoint is the one with the best validation exact match.
Leaves out: beam search during validation (greedy is the selection criterion).
"""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.config import Seq2SeqConfig, Seq2SeqTrainConfig, to_dict
from seqlm.data.pairs import Pair, PairBatch, PairBatches, PairVocabs
from seqlm.data.vocab import PAD_ID
from seqlm.decoding.seq2seq import translate
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.nn.seq2seq import Seq2Seq
from seqlm.progress import ProgressCallback
from seqlm.training.devices import Placement
from seqlm.training.engine import Engine, Listener, Result, StopCheck


def teacher_probability(config: Seq2SeqTrainConfig, step: int) -> float:
    """eps_i: the probability of feeding the gold previous token at training update `step`."""
    if config.sampling == "none":
        return 1.0
    if config.sampling == "linear":
        return max(config.ss_min_teacher, 1.0 - config.ss_linear_slope * step)
    if config.sampling == "exponential":
        return config.ss_exp_base ** step
    k = config.ss_sigmoid_k  # inverse_sigmoid
    return k / (k + math.exp(min(step / k, 700.0)))  # min: exp overflows past ~709


def as_tensors(batch: PairBatch, device: torch.device | str = "cpu") -> tuple[Tensor, ...]:
    """(source ids, source lengths, decoder inputs, targets) on `device`."""
    return tuple(torch.from_numpy(a).to(device) for a in (
        batch.source.ids, batch.source.lengths, batch.target_in.ids, batch.target_out.ids))


def validate(model: Seq2Seq, vocabs: PairVocabs, pairs: list[Pair]) -> dict[str, float]:
    """Greedy exact match and teacher-forced loss (nats per target token) on `pairs`."""
    outputs = translate(model, vocabs, [s for s, _ in pairs])
    exact = sum(o.output == t for o, (_, t) in zip(outputs, pairs, strict=True)) / len(pairs)
    batches = PairBatches(pairs, vocabs, len(pairs), seed=0, max_source_len=10**9)
    device = next(model.parameters()).device
    with torch.no_grad():
        loss = model(*as_tensors(batches.gather(np.arange(len(pairs))), device))[1]
    return {"valid_exact": exact, "valid_loss_nats": float(loss)}


@dataclass
class PairMicro:
    tensors: tuple[Tensor, ...]  # source ids, lengths, decoder inputs, targets
    count: int  # target tokens that are not padding


class Seq2SeqTask:
    """The engine's view of an encoder-decoder: pair batches in, summed losses out."""

    kind = "seq2seq"
    headline = "valid_exact"

    def __init__(self, config: Seq2SeqConfig, vocabs: PairVocabs, train_pairs: list[Pair],
                 valid_pairs: list[Pair], device: torch.device, data_sha256: str | None = None):
        self.config, self.vocabs, self.valid_pairs = config, vocabs, valid_pairs
        self.device, self.data_sha256 = device, data_sha256
        self.vocab_size = len(vocabs.target)
        self.parts = config.engine.accumulate
        self.pairs = PairBatches(train_pairs, vocabs, config.train.batch_size * self.parts,
                                 config.train.seed, config.model.max_source_len)
        self.cache: dict = {}
        self.generator = torch.Generator(device=device).manual_seed(config.train.seed)

    def batches(self, step: int) -> list[PairMicro]:
        index = self.pairs.batch(step, self.cache).index
        rows = self.config.train.batch_size
        micros = []
        for j in range(self.parts):
            part = self.pairs.gather(index[j * rows:(j + 1) * rows])
            count = int((part.target_out.ids != PAD_ID).sum())
            micros.append(PairMicro(as_tensors(part, self.device), count))
        return micros

    def loss_sum(self, model: nn.Module, micro: PairMicro, step: int) -> Tensor:
        src, lengths, tgt_in, targets = micro.tensors
        logits, _, _ = model(src, lengths, tgt_in, None,
                             teacher_prob=teacher_probability(self.config.train, step),
                             generator=self.generator)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                               ignore_index=PAD_ID, reduction="sum")

    def evaluate(self, model: nn.Module, progress: ProgressCallback | None,
                 should_stop: StopCheck | None) -> dict[str, float] | None:
        if not self.valid_pairs or (should_stop is not None and should_stop()):
            return None
        scores = validate(model, self.vocabs, self.valid_pairs)
        return {**scores, "loss_nats": scores["valid_loss_nats"],
                "objective": 1.0 - scores["valid_exact"]}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])

    def payload(self) -> dict[str, Any]:
        return {"config": to_dict(self.config), "vocab": self.vocabs.to_dict(),
                "data": {"sha256": self.data_sha256}}

    def log_extras(self, step: int) -> dict[str, float]:
        return {"teacher_prob": teacher_probability(self.config.train, step)}


def pairs_sha256(pairs: list[Pair]) -> str:
    """The identity of a list of training pairs (order included)."""
    digest = hashlib.sha256()
    for source, target in pairs:
        digest.update(f"{source}\t{target}\n".encode())
    return digest.hexdigest()


def train_seq2seq(config: Seq2SeqConfig, vocabs: PairVocabs, train_pairs: list[Pair],
                  valid_pairs: list[Pair], out: Path, progress: ProgressCallback | None = None,
                  should_stop: StopCheck | None = None, resume: dict[str, Any] | None = None,
                  source: str | Path = "the checkpoint", listeners: Sequence[Listener] = (),
                  ) -> tuple[Engine, Result]:
    """Build the model from the config (seeded) or restore it from a last.pt payload
    `resume`, and train it through the engine into `out` (best.pt, last.pt); `listeners` are
    told of its history and evaluations."""
    placement = Placement.resolve(config.engine.device, config.engine.precision)
    task = Seq2SeqTask(config, vocabs, train_pairs, valid_pairs, placement.device,
                       pairs_sha256(train_pairs))
    torch.manual_seed(config.train.seed)  # the initial weights are a function of the seed
    engine = Engine(task, build_model("seq2seq", config, vocabs), config.engine, out, placement,
                    listeners)
    if resume is not None:
        if resume["data"].get("sha256") not in (None, task.data_sha256):
            raise SeqlmError(f"the training pairs differ from the ones {source} was trained on: "
                             "resume with the same data options (--size, --regimes, --seed)")
        engine.restore(resume, source)
    return engine, engine.run(progress, should_stop)

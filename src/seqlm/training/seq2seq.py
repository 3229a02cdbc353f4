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

Under torchrun each update's batch holds B*N pairs per rank and rank r reads its shard of it
(`PairBatches.shard`: every ranks-th pair of the length-sorted batch), so the ranks together
make one process's update with the batch of them all; each rank draws its own sampling coins
(rank 0 those of one process), and validation is split over the ranks and summed.
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
from seqlm.training.distributed import World, rank_seed
from seqlm.training.engine import Engine, Listener, Result, StopCheck
from seqlm.training.seq2seq_score import exact_hits


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


def validate(model: Seq2Seq, vocabs: PairVocabs, pairs: list[Pair],
             world: World | None = None) -> dict[str, float]:
    """Greedy exact match and teacher-forced loss (nats per target token) on `pairs`; under
    torchrun each rank scores every ranks-th pair and the counts are summed."""
    world = world or World()
    mine = pairs[world.rank::world.size]
    exact, nats, tokens = 0, 0.0, 0
    if mine:
        outputs = translate(model, vocabs, [s for s, _ in mine])
        exact = sum(exact_hits([o.output for o in outputs], [t for _, t in mine]))
        batches = PairBatches(mine, vocabs, len(mine), seed=0, max_source_len=10**9)
        device = next(model.parameters()).device
        tensors = as_tensors(batches.gather(np.arange(len(mine))), device)
        tokens = int((tensors[3] != PAD_ID).sum())
        with torch.no_grad():
            nats = float(model(*tensors)[1]) * tokens  # the model's loss is a mean per token
    exact, nats, tokens = world.sum([exact, nats, tokens], "adding up the validation")
    return {"valid_exact": exact / len(pairs), "valid_loss_nats": nats / tokens}


@dataclass
class PairMicro:
    tensors: tuple[Tensor, ...]  # source ids, lengths, decoder inputs, targets
    count: int  # target tokens that are not padding


class Seq2SeqTask:
    """The engine's view of an encoder-decoder: pair batches in, summed losses out."""

    kind = "seq2seq"
    headline = "valid_exact"

    def __init__(self, config: Seq2SeqConfig, vocabs: PairVocabs, train_pairs: list[Pair],
                 valid_pairs: list[Pair], device: torch.device, data_sha256: str | None = None,
                 world: World | None = None):
        self.config, self.vocabs, self.valid_pairs = config, vocabs, valid_pairs
        self.device, self.data_sha256 = device, data_sha256
        self.world = world or World()
        self.vocab_size = len(vocabs.target)
        self.parts = config.engine.accumulate
        self.pairs = PairBatches(train_pairs, vocabs, config.train.batch_size * self.parts,
                                 config.train.seed, config.model.max_source_len,
                                 ranks=self.world.size)
        self.cache: dict = {}
        self.generator = torch.Generator(device=device).manual_seed(
            rank_seed(config.train.seed, self.world.rank))

    def batches(self, step: int) -> list[PairMicro]:
        index = self.pairs.shard(step, self.world.rank, self.cache)
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
        if not self.valid_pairs or self.world.any(should_stop is not None and should_stop()):
            return None
        scores = validate(model, self.vocabs, self.valid_pairs, self.world)
        return {**scores, "loss_nats": scores["valid_loss_nats"],
                "objective": 1.0 - scores["valid_exact"]}

    def state_dict(self) -> dict[str, Any]:
        """This rank's sampling coins; `pairs` is an update's batch over all ranks."""
        return {"generator": self.generator.get_state(), "pairs": self.pairs.batch_size}

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        return {**states[0], "generators": [s["generator"] for s in states]}

    def load_state_dict(self, state: dict[str, Any]) -> dict[str, Any]:
        """Go on with this rank's coins; returns what changed (another world size: the
        batches are cut anew, and a rank the resumed run did not have draws fresh coins)."""
        coins = state.get("generators", [state["generator"]])
        if self.world.rank < len(coins):
            self.generator.set_state(coins[self.world.rank])
        pairs = state.get("pairs", self.pairs.batch_size)
        return {} if pairs == self.pairs.batch_size else {"pairs_per_update": [
            pairs, self.pairs.batch_size]}

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


def build_seq2seq_engine(config: Seq2SeqConfig, vocabs: PairVocabs, train_pairs: list[Pair],
                         valid_pairs: list[Pair], out: Path,
                         resume: dict[str, Any] | None = None,
                         source: str | Path = "the checkpoint",
                         placement: Placement | None = None,
                         world: World | None = None,
                         listeners: Sequence[Listener] = ()) -> Engine:
    """The engine of a seq2seq run: the model built from the config (seeded), or restored
    from a last.pt payload `resume`, writing into `out` (best.pt, last.pt); `listeners` are
    told of its history and evaluations."""
    world = world or World(timeout_s=config.engine.distributed_timeout)
    placement = placement or Placement.resolve(config.engine.device, config.engine.precision)
    task = Seq2SeqTask(config, vocabs, train_pairs, valid_pairs, placement.device,
                       pairs_sha256(train_pairs), world)
    torch.manual_seed(config.train.seed)  # the initial weights are a function of the seed
    model = build_model("seq2seq", config, vocabs)
    world.fork_rng(config.train.seed)
    engine = Engine(task, model, config.engine, out, placement, world, listeners)
    if resume is not None:
        if resume["data"].get("sha256") not in (None, task.data_sha256):
            raise SeqlmError(f"the training pairs differ from the ones {source} was trained on: "
                             "resume with the same data options (--size, --regimes, --seed)")
        engine.restore(resume, source)
    return engine


def train_seq2seq(config: Seq2SeqConfig, vocabs: PairVocabs, train_pairs: list[Pair],
                  valid_pairs: list[Pair], out: Path, progress: ProgressCallback | None = None,
                  should_stop: StopCheck | None = None, resume: dict[str, Any] | None = None,
                  source: str | Path = "the checkpoint") -> tuple[Engine, Result]:
    """Build (or restore) a seq2seq model in one process and train it into `out`."""
    engine = build_seq2seq_engine(config, vocabs, train_pairs, valid_pairs, out, resume, source)
    return engine, engine.run(progress, should_stop)

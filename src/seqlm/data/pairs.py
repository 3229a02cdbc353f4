"""Source -> target pairs for seq2seq, character level: vocabularies, checks and batches.

A source is encoded as its characters (no `<s>`/`</s>`); a target of n characters becomes the
decoder input `<s> y_1 .. y_n` and the output `y_1 .. y_n </s>` (teacher forcing shifts by
one). Source and target have their own vocabularies, built from the training pairs.

Batches are length-bucketed: within each epoch the pairs are shuffled, cut into chunks of
`bucket` batches, each chunk sorted by source length and cut into batches, and the batch
order is shuffled again, so a batch pads little (short plain dates do not pad to 120). Epoch
e's order is a function of (seed, e) only, so batch number i is known without replaying the
epochs before it: that is what exact resume needs.

Several processes: each batch holds B x ranks pairs, bucketed as one process's batch of that
size would be, and rank r reads its pairs r, r + ranks, r + 2 ranks, ... (`shard`): disjoint
shards whose union is the batch, of alike lengths (the batch is sorted by source length),
reshuffled every epoch with the batches. 2 ranks, B = 3:

    batch i      p7 p2 p9 p4 p1 p8        (source lengths 10 11 13 14 20 22)
    rank 0       p7    p9    p1
    rank 1          p2    p4    p8

Leaves out: subword units, token budgets.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqlm.data.batching import PaddedBatch, pad_sequences
from seqlm.data.vocab import BOS_ID, EOS_ID, Vocab
from seqlm.errors import SeqlmError

Pair = tuple[str, str]


@dataclass(frozen=True)
class PairVocabs:
    source: Vocab
    target: Vocab

    @classmethod
    def build(cls, pairs: Sequence[Pair]) -> "PairVocabs":
        return cls(source=Vocab.build(c for s, _ in pairs for c in s),
                   target=Vocab.build(c for _, t in pairs for c in t))

    def to_dict(self) -> dict:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "PairVocabs":
        return cls(source=Vocab.from_dict(data["source"]), target=Vocab.from_dict(data["target"]))


def encode_sources(vocab: Vocab, sources: Sequence[str], max_len: int) -> list[np.ndarray]:
    """Ids of each source; unknown characters become `<unk>` with one warning naming them.

    An empty source, or one longer than `max_len` characters, is a `SeqlmError`."""
    for number, source in enumerate(sources, 1):
        if not source:
            raise SeqlmError(f"source {number} is empty: give at least one character")
        if len(source) > max_len:
            raise SeqlmError(
                f"source {number} has {len(source)} characters, more than the model's maximum "
                f"of {max_len}: shorten it, or train a model that reads longer sources "
                f"(`seqlm seq2seq train --max-source-len N`)"
            )
    unknown = vocab.oov(c for s in sources for c in s)
    if unknown:
        warnings.warn(f"characters outside the source vocabulary are read as <unk>: "
                      f"{''.join(unknown)!r}", stacklevel=2)
    return [vocab.encode(s) for s in sources]


def encode_targets(vocab: Vocab, targets: Sequence[str]) -> tuple[list, list]:
    """Decoder inputs `<s> y` and outputs `y </s>` for each target, as id arrays."""
    ids = [vocab.encode(t) for t in targets]
    return ([np.concatenate([[BOS_ID], y]) for y in ids],
            [np.concatenate([y, [EOS_ID]]) for y in ids])


@dataclass(frozen=True)
class PairBatch:
    source: PaddedBatch  # ids (B, S), lengths (B,)
    target_in: PaddedBatch  # <s> y, (B, T)
    target_out: PaddedBatch  # y </s>, (B, T)
    index: np.ndarray  # (B,) positions of these pairs in the dataset


class PairBatches:
    """Length-bucketed, seeded batches of encoded pairs; `batch(i)` is the i-th batch of
    training counted over epochs (epoch i // len(self)). With `ranks` > 1 a batch holds
    batch_size x ranks pairs and `shard(i, r)` is rank r's part of it."""

    def __init__(self, pairs: Sequence[Pair], vocabs: PairVocabs, batch_size: int, seed: int,
                 max_source_len: int, bucket: int = 20, ranks: int = 1):
        if batch_size < 1:
            raise SeqlmError(f"batch size must be at least 1, got {batch_size}")
        if len(pairs) < batch_size * ranks:
            processes = f"{ranks} processes x " if ranks > 1 else ""
            fewer = ", start fewer processes (torchrun's `--nproc_per_node`)" if ranks > 1 else ""
            raise SeqlmError(f"{len(pairs)} training pairs are fewer than {processes}the batch "
                             f"size {batch_size}: lower --batch-size{fewer} or use more data")
        self.sources = encode_sources(vocabs.source, [s for s, _ in pairs], max_source_len)
        self.target_in, self.target_out = encode_targets(vocabs.target, [t for _, t in pairs])
        self.lengths = np.array([len(s) for s in self.sources])
        self.batch_size = batch_size * ranks  # pairs per batch, all ranks together
        self.ranks, self.seed, self.bucket = ranks, seed, bucket

    def __len__(self) -> int:
        return len(self.sources) // self.batch_size  # the ragged tail of each epoch is dropped

    def epoch_order(self, epoch: int) -> list[np.ndarray]:
        """The batches of one epoch as arrays of pair indices, a function of (seed, epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.sources))[: len(self) * self.batch_size]
        chunk = self.bucket * self.batch_size
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i : i + self.batch_size] for i in range(0, len(part),
                                                                        self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def indices(self, i: int, cache: dict | None = None) -> np.ndarray:
        """The pairs of batch number i of the whole run; `cache` keeps the current epoch's
        order."""
        epoch, within = divmod(i, len(self))
        if cache is None or cache.get("epoch") != epoch:
            order = self.epoch_order(epoch)
            if cache is not None:
                cache.update(epoch=epoch, order=order)
        else:
            order = cache["order"]
        return order[within]

    def batch(self, i: int, cache: dict | None = None) -> PairBatch:
        """Batch number i of the whole run, every rank's pairs."""
        return self.gather(self.indices(i, cache))

    def shard(self, i: int, rank: int, cache: dict | None = None) -> np.ndarray:
        """Rank `rank`'s pairs of batch i: every ranks-th from its own (module drawing)."""
        return self.indices(i, cache)[rank::self.ranks]

    def gather(self, index: np.ndarray) -> PairBatch:
        return PairBatch(source=pad_sequences([self.sources[j] for j in index]),
                         target_in=pad_sequences([self.target_in[j] for j in index]),
                         target_out=pad_sequences([self.target_out[j] for j in index]),
                         index=np.asarray(index))

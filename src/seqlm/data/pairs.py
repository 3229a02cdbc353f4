"""Source -> target pairs for seq2seq, character level: vocabularies, checks and batches.

A source is encoded as its characters (no `<s>`/`</s>`); a target of n characters becomes the
decoder input `<s> y_1 .. y_n` and the output `y_1 .. y_n </s>` (teacher forcing shifts by
one). Source and target have their own vocabularies, built from the training pairs.

Batches are length-bucketed: within each epoch the pairs are shuffled, cut into chunks of
`bucket` batches, each chunk sorted by source length and cut into batches, and the batch
order is shuffled again, so a batch pads little (short plain dates do not pad to 120). Epoch
e's order is a function of (seed, e) only, so batch number i is known without replaying the
epochs before it: that is what exact resume needs. Leaves out: subword units, token budgets.
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
    training counted over epochs (epoch i // len(self))."""

    def __init__(self, pairs: Sequence[Pair], vocabs: PairVocabs, batch_size: int, seed: int,
                 max_source_len: int, bucket: int = 20):
        if batch_size < 1:
            raise SeqlmError(f"batch size must be at least 1, got {batch_size}")
        if len(pairs) < batch_size:
            raise SeqlmError(f"{len(pairs)} training pairs are fewer than the batch size "
                             f"{batch_size}: lower --batch-size or use more data")
        self.sources = encode_sources(vocabs.source, [s for s, _ in pairs], max_source_len)
        self.target_in, self.target_out = encode_targets(vocabs.target, [t for _, t in pairs])
        self.lengths = np.array([len(s) for s in self.sources])
        self.batch_size, self.seed, self.bucket = batch_size, seed, bucket

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

    def batch(self, i: int, cache: dict | None = None) -> PairBatch:
        """Batch number i of the whole run; `cache` keeps the current epoch's order."""
        epoch, within = divmod(i, len(self))
        if cache is None or cache.get("epoch") != epoch:
            order = self.epoch_order(epoch)
            if cache is not None:
                cache.update(epoch=epoch, order=order)
        else:
            order = cache["order"]
        return self.gather(order[within])

    def gather(self, index: np.ndarray) -> PairBatch:
        return PairBatch(source=pad_sequences([self.sources[j] for j in index]),
                         target_in=pad_sequences([self.target_in[j] for j in index]),
                         target_out=pad_sequences([self.target_out[j] for j in index]),
                         index=np.asarray(index))

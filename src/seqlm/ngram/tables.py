"""A backoff model's tables as columns: what an ARPA file or a binary model is written from.

`BackoffTables` holds, per order, the sorted n-gram keys (`seqlm.ngram.trie`), log p and the
backoffs (nats, float64), each a `seqlm.ngram.spill.Column`, so a writer can stream a model
that was estimated in bounded memory (`seqlm.ngram.build`) as easily as one held in memory
(`BackoffTables.of_model`). Leaves out: add-k's floors and stupid backoff's scores, which no
backoff file expresses.
"""

from dataclasses import dataclass

from seqlm.errors import SeqlmError
from seqlm.ngram.spill import Column, in_memory
from seqlm.ngram.stream import NgramVocab


@dataclass
class BackoffTables:
    vocab: NgramVocab
    unit: str
    order: int
    smoothing: str
    precision: str
    keys: list[Column]
    logp: list[Column]
    backoff: list[Column]  # orders 1..N-1

    @property
    def V(self) -> int:  # noqa: N802 (the shape letter of the vocabulary)
        return len(self.vocab)

    def sizes(self) -> list[int]:
        return [len(k) for k in self.keys]

    @classmethod
    def of_model(cls, model) -> "BackoffTables":
        """The tables of an in-memory `NgramModel` of the backoff form."""
        if model.form != "backoff":
            raise SeqlmError(
                f"a {model.smoothing} model cannot be written as ARPA or binary: the backoff "
                "form cannot express add-k's floor or stupid backoff's scores; use --smoothing "
                "mkn, kn or mle")
        return cls(vocab=model.vocab, unit=model.unit, order=model.order,
                   smoothing=model.smoothing, precision=model.precision,
                   keys=[in_memory(k) for k in model.keys],
                   logp=[in_memory(t) for t in model.logp],
                   backoff=[in_memory(t) for t in model.backoff[:model.order - 1]])

"""Vocabulary: tokens <-> integer ids, with fixed special ids.

Special symbols and their rules (the README's conventions table):
    0 `<pad>`  padding in seq2seq batches; never predicted, masked out of every loss
    1 `<unk>`  any token outside the vocabulary
    2 `<s>`    begin of sentence; conditioned on, never predicted (the KenLM convention)
    3 `</s>`   end of sentence; predicted and counted in perplexity
Ordinary tokens follow in order of decreasing frequency, ties broken by first appearance, so
a vocabulary is a deterministic function of its training text. Leaves out: subword merges.
"""

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write_json
from seqlm.errors import SeqlmError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)


class Vocab:
    """A frozen mapping between tokens and ids; specials first at fixed ids."""

    def __init__(self, tokens: Sequence[str]):
        itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        if len(set(itos)) != len(itos):
            raise ValueError("vocabulary tokens must be unique")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(itos)}

    @classmethod
    def build(cls, tokens: Iterable[str], min_freq: int = 1,
              max_size: int | None = None) -> "Vocab":
        """Keep tokens seen at least `min_freq` times, the `max_size` most frequent at most
        (specials not counted)."""
        if min_freq < 1:
            raise SeqlmError(f"min_freq must be at least 1, got {min_freq}")
        counts = Counter(tokens)
        # Counter keeps first-appearance order, and sorted() is stable: ties stay in that order
        kept = [t for t, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_freq]
        kept = [t for t in kept if t not in SPECIALS]
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of `tokens` as int64; unknown tokens become `<unk>`."""
        get = self.stoi.get
        return np.fromiter((get(t, UNK_ID) for t in tokens), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def oov(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens that this vocabulary does not hold, in order of appearance."""
        return list(dict.fromkeys(t for t in tokens if t not in self.stoi))

    def to_dict(self) -> dict:
        return {"itos": self.itos}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocab":
        itos = data.get("itos")
        if not isinstance(itos, list) or itos[: len(SPECIALS)] != list(SPECIALS):
            raise SeqlmError("not a seqlm vocabulary: expected 'itos' starting with the specials")
        return cls(itos[len(SPECIALS):])

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SeqlmError(f"vocabulary file {path} does not exist") from None
        except json.JSONDecodeError as e:
            raise SeqlmError(f"vocabulary file {path} is not valid JSON: {e}") from None
        return cls.from_dict(data)

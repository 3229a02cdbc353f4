"""Text -> the n-gram token stream: every line becomes `<s> w1 … wk </s>`, as integer ids.

The KenLM conventions (Heafield 2011, `lmplz` and `query`): one line is one sentence with a
single `<s>` and one `</s>`; an empty line is the sentence `<s> </s>`; a final newline ends
the last line rather than opening an empty one. Units: `word` splits on ASCII space, tab and
CR only (`seqlm.data.tokenizers.split_words`); `char` makes every character of a line a token,
the space included; `byte` makes every UTF-8 byte a token (as the latin-1 character
`chr(b)`, the convention of `seqlm.data.tokenizers.ByteTokenizer`).

The literal symbols `<s>`, `</s>` and `<unk>` in *training* text are read as whitespace (KenLM's
`--skip_symbols`); in scored text `<unk>` is an out-of-vocabulary word and `<s>`, `</s>` are
whitespace. Only the word unit can produce them: a character is never a multi-character symbol.

This module holds the rules, the vocabulary and the stream's layout, and cuts short strings
(contexts, single sentences); whole texts to score become ids in `seqlm.ngram.text_ids`
(vectorised, by hash), training text in `seqlm.ngram.reading` (in pieces).
"""

from dataclasses import dataclass

import numpy as np

from seqlm.config.ngram import check_unit
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import BOS, EOS, UNK
from seqlm.errors import SeqlmError

# KenLM's ids, in the order it writes them: <unk>, <s>, </s> (not seqlm.data.vocab's ids)
NGRAM_UNK_ID, NGRAM_BOS_ID, NGRAM_EOS_ID = 0, 1, 2
NGRAM_SPECIALS = (UNK, BOS, EOS)
_OOV, _LINE_END, _SKIP = -1, -2, -3  # markers while encoding
OOV_MARK, LINE_END_MARK, SKIP_MARK = _OOV, _LINE_END, _SKIP


class NgramVocab:
    """id <-> token for n-gram models: `<unk>`=0, `<s>`=1, `</s>`=2, then the training words
    in order of first appearance (the order `lmplz` writes its unigrams in).

    The vocabulary interface every model uses (`seqlm.ngram.vocab_hash.MappedVocab` is the
    other one): `len`, `token(i)`, `tokens`, `ids(tokens)` and `hashed` (the hash table that
    `seqlm.ngram.text_ids` looks scored text up in)."""

    def __init__(self, words: list[str]):
        self.tokens: list[str] = [*NGRAM_SPECIALS, *(w for w in words if w not in NGRAM_SPECIALS)]
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise SeqlmError("n-gram vocabulary words must be unique: the model file repeats one")
        self.hashed = None  # its hash table (seqlm.ngram.vocab_hash), made on first use

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NgramVocab) and self.tokens == other.tokens

    def token(self, i: int) -> str:
        return self.tokens[i]

    def ids(self, tokens: list[str]) -> np.ndarray:
        """Ids of tokens (T,), OOV_MARK for a token outside the vocabulary and for `<unk>`."""
        return np.fromiter((self.index.get(t, _OOV) if t != UNK else _OOV for t in tokens),
                           dtype=np.int64, count=len(tokens))


@dataclass(frozen=True)
class SentenceIds:
    """Sentences laid end to end: `<s> a b </s> <s> c </s>` as ids (T,), with OOV flags (T,).

    OOV positions hold `<unk>`'s id. `starts` are the positions of the `<s>` ids (S,)."""

    ids: np.ndarray  # (T,) int64
    oov: np.ndarray  # (T,) bool
    starts: np.ndarray  # (S,) int64

    @property
    def n_sentences(self) -> int:
        return len(self.starts)

    def scored(self) -> np.ndarray:
        """Positions whose token is predicted: every one except the `<s>`s. (T - S,)"""
        mask = np.ones(len(self.ids), dtype=bool)
        mask[self.starts] = False
        return np.flatnonzero(mask)


def split_line(line: str, unit: str) -> list[str]:
    """The tokens of one line (no line end): a context or a sentence given as a string."""
    if "\n" in line:
        raise SeqlmError("expected one line, got a newline inside: score texts line by line, "
                         "or use perplexity() for a whole text")
    return get_tokenizer(check_unit(unit)).split_line(line)


def encode_tokens(tokens: list[str], vocab: NgramVocab) -> tuple[np.ndarray, np.ndarray]:
    """Ids (T,) and OOV flags (T,) of already cut tokens; `<s>` keeps its id (a context)."""
    ids = vocab.ids(tokens)
    oov = ids == _OOV
    ids[oov] = NGRAM_UNK_ID
    return ids, oov


def sentence_offsets(stream: SentenceIds) -> np.ndarray:
    """For each position, its distance from its sentence's `<s>` (T,): 0 at every `<s>`."""
    T = len(stream.ids)
    lengths = np.diff(np.concatenate([stream.starts, [T]]))
    return np.arange(T, dtype=np.int64) - np.repeat(stream.starts, lengths)

"""A corpus turned into what a language model trains and is scored on: token ids per split,
plus how many characters and UTF-8 bytes each token stands for.

The sizes make bits per character and bits per byte exact for every unit:

    unit   token            chars                    bytes
    char   one character    1                        its UTF-8 length
    byte   one byte         1 if it starts a char    1
    word   a word           len(word) + 1 separator  UTF-8 length + 1
    word   </s>             0 (its newline is the    0
                            last word's separator)

so summing over a normalised text gives its length. The vocabulary is built on the training
split only; other splits map unseen tokens to <unk> (sizes still count the original token).
Leaves out: streaming corpora larger than memory.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.config import LMConfig
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import Vocab


@dataclass(frozen=True)
class TokenStream:
    """One split as a contiguous stream: ids, chars and bytes per token, each (N,)."""

    ids: np.ndarray
    chars: np.ndarray
    bytes: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def token_sizes(tokens: list[str], unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Characters and UTF-8 bytes that each token covers (the tokenizer's `sizes`)."""
    return get_tokenizer(unit).sizes(tokens)


def encode_text(text: str, unit: str, vocab: Vocab) -> TokenStream:
    tokens = get_tokenizer(unit).tokenize(text)
    chars, nbytes = get_tokenizer(unit).sizes(tokens)
    return TokenStream(ids=vocab.encode(tokens), chars=chars, bytes=nbytes)


def build_vocab(train_text: str, config: LMConfig) -> Vocab:
    tokens = get_tokenizer(config.unit).tokenize(train_text)
    return Vocab.build(tokens, min_freq=config.min_freq, max_size=config.max_vocab)


def encode_splits(texts: dict[str, str], unit: str, vocab: Vocab) -> dict[str, TokenStream]:
    """Every non-empty split, encoded."""
    return {name: encode_text(text, unit, vocab) for name, text in texts.items() if text.strip()}

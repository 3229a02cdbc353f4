"""Tokenizers with one protocol: text -> list of string tokens -> text.

- `char`: every Unicode character is a token, newlines included.
- `word`: tokens split on ASCII space and tab (our corpora already space punctuation); each
  line ends with the end-of-sentence symbol `</s>` (the word_language_model convention), so
  the line structure survives the round trip.
- `byte`: the UTF-8 bytes of the text, each byte as the one-character string `chr(b)`
  (latin-1), so every tokenizer yields strings and one `Vocab` type serves all three.

Round trip: `detokenize(tokenize(t)) == t` for char and byte; for word, for every text whose
tokens are separated by single spaces (`normalize` gives that form).

Each tokenizer also states, once, the facts the rest of seqlm asks about a unit instead of
testing `unit == "word"`: the token that ends a line (`line_end`: `</s>` for words, the
newline character itself for characters and bytes), the characters and UTF-8 bytes each token
stands for (`sizes`, which make bits per character and per byte exact), the tokens of one line
(`split_line`), and how a prime and its generated continuation join (`open_prime`, `join`).
Leaves out: subwords.
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from seqlm.data.vocab import EOS
from seqlm.errors import SeqlmError


class Tokenizer(Protocol):
    unit: str
    line_end: str  # the token that ends a line

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: list[str]) -> str: ...

    def sizes(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]: ...

    def split_line(self, line: str) -> list[str]: ...

    def open_prime(self, prime: str) -> list[str]: ...

    def join(self, prime: str, continuation: str) -> str: ...


class SharedFacts:
    """What char and byte tokenizers state alike: the newline is a token like any other."""

    line_end = "\n"

    def split_line(self, line: str) -> list[str]:
        """The tokens of one line, without its line end."""
        return self.tokenize(line.rstrip("\n"))

    def open_prime(self, prime: str) -> list[str]:
        """The tokens of a prime that generation continues."""
        return self.tokenize(prime)

    def join(self, prime: str, continuation: str) -> str:
        return prime + continuation


@dataclass(frozen=True)
class CharTokenizer(SharedFacts):
    unit: str = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def sizes(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One character each; its UTF-8 length in bytes."""
        n = len(tokens)
        return (np.ones(n, dtype=np.int64),
                np.fromiter((len(t.encode("utf-8")) for t in tokens), np.int64, count=n))


@dataclass(frozen=True)
class WordTokenizer:
    unit: str = "word"
    line_end: str = EOS

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        if not text:
            return tokens
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()  # a final newline ends the last line rather than opening a new one
        for line in lines:
            tokens.extend(split_words(line))
            tokens.append(EOS)
        return tokens

    def detokenize(self, tokens: list[str]) -> str:
        lines, current = [], []
        for tok in tokens:
            if tok == EOS:
                lines.append(" ".join(current) + "\n")
                current = []
            else:
                current.append(tok)
        return "".join(lines) + " ".join(current)

    def normalize(self, text: str) -> str:
        """The text as the word tokenizer sees it: single spaces, one line per sentence."""
        return self.detokenize(self.tokenize(text))

    def sizes(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """A word covers itself and the separator after it; `</s>` covers nothing (its
        newline is the last word's separator), so the sizes add up to the normalised text."""
        n = len(tokens)
        chars = np.fromiter((0 if t == EOS else len(t) + 1 for t in tokens), np.int64, count=n)
        nbytes = np.fromiter((0 if t == EOS else len(t.encode("utf-8")) + 1 for t in tokens),
                             np.int64, count=n)
        return chars, nbytes

    def split_line(self, line: str) -> list[str]:
        """The words of one line, without its `</s>`."""
        return split_words(line.rstrip("\n"))

    def open_prime(self, prime: str) -> list[str]:
        """A prime's tokens; an unfinished last line stays open (no `</s>`) so that
        generation continues it."""
        tokens = self.tokenize(prime)
        return tokens if prime.endswith("\n") else tokens[:-1]

    def join(self, prime: str, continuation: str) -> str:
        """The continuation is detokenised alone, so the seam between words needs a space."""
        if prime and continuation and not prime.endswith((" ", "\n")) \
                and not continuation.startswith("\n"):
            return f"{prime} {continuation}"
        return prime + continuation


@dataclass(frozen=True)
class ByteTokenizer(SharedFacts):
    unit: str = "byte"

    def tokenize(self, text: str) -> list[str]:
        return list(text.encode("utf-8").decode("latin-1"))

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens).encode("latin-1").decode("utf-8", errors="replace")

    def sizes(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One byte each; a character where the byte starts one (a UTF-8 continuation byte
        is 10xxxxxx)."""
        n = len(tokens)
        return (np.fromiter(((ord(t) & 0xC0) != 0x80 for t in tokens), np.int64, count=n),
                np.ones(n, dtype=np.int64))


def split_words(line: str) -> list[str]:
    """Split on ASCII space, tab and CR only, as KenLM does (not on non-breaking spaces)."""
    return [w for w in line.replace("\t", " ").replace("\r", " ").split(" ") if w]


TOKENIZERS: dict[str, type] = {"char": CharTokenizer, "word": WordTokenizer, "byte": ByteTokenizer}


def get_tokenizer(unit: str) -> Tokenizer:
    """The tokenizer for `unit` (char, word or byte)."""
    try:
        return TOKENIZERS[unit]()
    except KeyError:
        raise SeqlmError(
            f"unknown unit {unit!r}: choose one of {', '.join(TOKENIZERS)}"
        ) from None

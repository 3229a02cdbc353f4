"""Tokenizers with one protocol: text -> list of string tokens -> text.

- `char`: every Unicode character is a token, newlines included.
- `word`: tokens split on ASCII space and tab (our corpora already space punctuation); each
  line ends with the end-of-sentence symbol `</s>` (the word_language_model convention), so
  the line structure survives the round trip.
- `byte`: the UTF-8 bytes of the text, each byte as the one-character string `chr(b)`
  (latin-1), so every tokenizer yields strings and one `Vocab` type serves all three.

Round trip: `detokenize(tokenize(t)) == t` for char and byte; for word, for every text whose
tokens are separated by single spaces (`normalize` gives that form). Leaves out: subwords.
"""

from dataclasses import dataclass
from typing import Protocol

from seqlm.errors import SeqlmError

EOS = "</s>"


class Tokenizer(Protocol):
    unit: str

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: list[str]) -> str: ...


@dataclass(frozen=True)
class CharTokenizer:
    unit: str = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


@dataclass(frozen=True)
class WordTokenizer:
    unit: str = "word"

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


@dataclass(frozen=True)
class ByteTokenizer:
    unit: str = "byte"

    def tokenize(self, text: str) -> list[str]:
        return list(text.encode("utf-8").decode("latin-1"))

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens).encode("latin-1").decode("utf-8", errors="replace")


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

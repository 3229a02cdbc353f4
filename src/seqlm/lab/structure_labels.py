"""Labels per character of code (or of Dyck strings): bracket depth, indentation, inside a string.

One left-to-right scan with Python's lexical rules, simplified to what the labels need:

    code     # starts a comment (to the end of the line); ' or " opens a string, three of
             them a triple-quoted one; an opener of `pairs` pushes, a closer pops
    string   a backslash escapes the next character, a newline too (also in raw strings,
             where it still keeps the quote from ending the string); the opening quote(s) end it; a
             newline ends a one-quote string as an error (Python: "unterminated string")
    comment  a newline ends it

Brackets inside strings and comments do not count. The labels, for every character t:

    depth[t]      open brackets after reading t: an opener carries its new depth, a closer
                  the depth it returns to (`( a )` -> 1 1 1 0 ... as read: `(`=1, `a`=1, `)`=0)
    indent[t]     leading whitespace of t's physical line as read so far, in columns (a tab
                  goes to the next multiple of 8): inside the leading run it counts up, after
                  it the whole width; a newline starts a line, so it gets 0
    in_string[t]  1 if t belongs to a string literal, its quotes included (prefix letters
                  such as r or f are not)

`Scan.matches` pairs each closer with its opener; `Scan.errors` lists bracket and string
errors with their positions. Karpathy, Johnson and Fei-Fei (2015) looked for cells that track
exactly these three quantities. Leaves out: f-string replacement fields (their brackets count
as string), line continuations by backslash, Python's tokenizer in full.
"""

from dataclasses import dataclass, field

import numpy as np

CODE_PAIRS = "()[]{}"
TAB = 8
QUOTES = "'\""
LABELS = ("depth", "indent", "in_string")


@dataclass
class Scan:
    """The result of `scan`: per-character labels (T,), bracket matches and errors."""

    depth: np.ndarray
    indent: np.ndarray
    in_string: np.ndarray
    in_comment: np.ndarray  # 1 from # to the end of its line (the newline not included)
    matches: list[tuple[int, int]] = field(default_factory=list)  # (opener, closer) positions
    errors: list[tuple[int, str]] = field(default_factory=list)  # (position, kind)
    open_at_end: list[int] = field(default_factory=list)  # positions of unclosed openers
    string_at_end: bool = False  # the text ends inside a string

    def label(self, name: str) -> np.ndarray:
        return getattr(self, name)


class _Scanner:
    """The state of one scan; `step` reads one character (or a whole quote delimiter)."""

    def __init__(self, text: str, pairs: str):
        self.text, self.n = text, len(text)
        self.openers = {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}
        self.closers = {pairs[i + 1]: pairs[i] for i in range(0, len(pairs), 2)}
        self.result = Scan(*(np.zeros(self.n, np.int64) for _ in range(4)))
        self.stack: list[int] = []
        self.quote: str | None = None  # the delimiter of the string we are in
        self.comment = False
        self.column, self.leading = 0, True  # indentation of the current line

    def indent(self, t: int, ch: str) -> None:
        if ch == "\n":
            self.column, self.leading = 0, True
        elif self.leading and ch in " \t":
            self.column = (self.column // TAB + 1) * TAB if ch == "\t" else self.column + 1
        else:
            self.leading = False
        self.result.indent[t] = self.column

    def in_string(self, t: int) -> int:
        """Read characters inside a string from t; return the next position to read."""
        ch, quote = self.text[t], self.quote
        if ch == "\\" and t + 1 < self.n:  # an escape, or a line continued inside the string
            return self.mark_string(t, 2)
        if self.text.startswith(quote, t):
            self.quote = None
            return self.mark_string(t, len(quote))
        if ch == "\n" and len(quote) == 1:
            self.result.errors.append((t, "unterminated string"))
            self.quote = None
            return t  # the newline is read again as code
        return self.mark_string(t, 1)

    def mark_string(self, t: int, width: int) -> int:
        end = min(self.n, t + width)
        self.result.in_string[t:end] = 1
        for u in range(t, end):
            self.indent(u, self.text[u])
            self.result.depth[u] = len(self.stack)
        return end

    def in_code(self, t: int) -> int:
        ch = self.text[t]
        if ch in QUOTES:
            self.quote = ch * 3 if self.text.startswith(ch * 3, t) else ch
            return self.mark_string(t, len(self.quote))
        if ch == "#":
            self.comment = True
            self.result.in_comment[t] = 1
        elif ch in self.openers:
            self.stack.append(t)
        elif ch in self.closers:
            self.close(t, ch)
        self.indent(t, ch)
        self.result.depth[t] = len(self.stack)
        return t + 1

    def close(self, t: int, ch: str) -> None:
        if not self.stack:
            self.result.errors.append((t, "unopened"))
        elif self.text[self.stack[-1]] != self.closers[ch]:
            self.result.errors.append((t, "mismatched"))
            self.stack.pop()  # read on as if it had matched, so one slip is one error
        else:
            self.result.matches.append((self.stack.pop(), t))

    def run(self) -> Scan:
        t = 0
        while t < self.n:
            if self.quote is not None:
                t = self.in_string(t)
            elif self.comment:
                self.comment = self.text[t] != "\n"
                self.result.in_comment[t] = int(self.comment)
                self.indent(t, self.text[t])
                self.result.depth[t] = len(self.stack)
                t += 1
            else:
                t = self.in_code(t)
        self.result.open_at_end = list(self.stack)
        self.result.string_at_end = self.quote is not None
        return self.result


def scan(text: str, pairs: str = CODE_PAIRS) -> Scan:
    """Labels, matches and errors of `text`; `pairs` lists opener-closer pairs ("()[]")."""
    if len(pairs) % 2:
        raise ValueError(f"pairs must list openers and closers two by two, got {pairs!r}")
    return _Scanner(text, pairs).run()

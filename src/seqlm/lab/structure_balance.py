"""Do a sample's brackets balance and is its indentation consistent? Checks for generated code.

A sample is a cut piece of code: it starts at a line start and stops after a fixed number of
characters, wherever that falls. So the checks ask whether the sample could be the start of
well-formed code, not whether it is complete:

- brackets (`structure_labels.scan`, so brackets inside strings and comments do not count):
  `balanced` when every opener is closed, `open` when nothing went wrong but the cut left
  brackets open, `mismatched` when a closer meets an opener of another type, `unopened` when
  a closer meets no opener. The brackets *balance* when the status is balanced or open.
- indentation, Python's rule (the tokenizer's INDENT / DEDENT) on logical lines: lines inside
  brackets or strings, after a backslash, blank or comment-only are not logical line starts.
  The first logical line sets the level; a deeper one is allowed only after a line that ends
  in `:` (else "unexpected indent"), and after such a line the next must be deeper ("expected
  an indented block"); a shallower one must return to a level on the stack ("unindent does
  not match") or go below all of them (the sample began inside a block: that is its new
  bottom). The sample's last line counts once it has a character that is not whitespace.

Leaves out: tabs mixed with spaces as an error (a tab counts to the next multiple of 8), the
rest of Python's grammar.
"""

from dataclasses import dataclass, field

from seqlm.lab.structure_labels import CODE_PAIRS, Scan, scan

BRACKET_ERRORS = ("unopened", "mismatched")


@dataclass(frozen=True)
class BalanceCheck:
    brackets: str  # balanced, open, mismatched or unopened
    first_bracket_error: int | None  # character position
    open_brackets: int  # left open at the end
    indentation_errors: list[tuple[int, str]] = field(default_factory=list)  # (line, kind)
    string_errors: int = 0  # one-quote strings cut by a newline

    @property
    def brackets_balance(self) -> bool:
        return self.brackets in ("balanced", "open")

    @property
    def indentation_consistent(self) -> bool:
        return not self.indentation_errors


def check(text: str, pairs: str = CODE_PAIRS) -> BalanceCheck:
    """Bracket and indentation checks of one sample (see the module docstring)."""
    s = scan(text, pairs)
    errors = [(t, kind) for t, kind in s.errors if kind in BRACKET_ERRORS]
    if errors:
        status, first = errors[0][1], errors[0][0]
    else:
        status, first = ("open" if s.open_at_end else "balanced"), None
    return BalanceCheck(status, first, len(s.open_at_end), indentation_errors(text, s),
                        sum(kind == "unterminated string" for _, kind in s.errors))


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every physical line, end at its newline or the end of the text."""
    spans, start = [], 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        spans.append((start, end))
        start = end + 1
    return spans


def last_significant(text: str, s: Scan, start: int, end: int) -> str | None:
    """The last character of a line that is neither whitespace nor comment."""
    for t in range(end - 1, start - 1, -1):
        if not s.in_comment[t] and not text[t].isspace():
            return text[t]
    return None


def indentation_errors(text: str, s: Scan) -> list[tuple[int, str]]:
    """Python's indentation rule over the logical lines of `text`: (line number, kind)."""
    errors: list[tuple[int, str]] = []
    levels: list[int] = []  # the indentation stack; empty before the first logical line
    last = None  # the last significant character of the previous non-blank line
    for number, (start, end) in enumerate(line_spans(text), 1):
        continued = start > 0 and (s.depth[start - 1] > 0 or s.in_string[start - 1] > 0
                                   or last == "\\")
        first = next((t for t in range(start, end) if not text[t].isspace()), None)
        if first is None or (not continued and text[first] == "#"):
            continue  # blank or comment-only: not a logical line
        if not continued:
            kind = indent_step(levels, int(s.indent[first]), last == ":")
            if kind:
                errors.append((number, kind))
        last = last_significant(text, s, start, end) or last
    return errors


def indent_step(levels: list[int], width: int, after_colon: bool) -> str | None:
    """Move the indentation stack to a logical line of `width`; the error kind or None."""
    if not levels:
        levels.append(width)
        return None
    if width > levels[-1]:
        levels.append(width)
        return None if after_colon else "unexpected indent"
    error = "expected an indented block" if after_colon else None
    while levels and levels[-1] > width:
        levels.pop()
    if not levels:
        levels.append(width)  # below where the sample began: it started inside a block
    elif levels[-1] != width:
        levels.append(width)
        error = error or "unindent does not match any outer level"
    return error

"""The one exception type seqlm raises for bad input.

A `SeqlmError` carries a one-line message that names the problem and the fix; the CLI prints
it without a traceback and exits non-zero. Programming errors stay ordinary exceptions.
"""


class SeqlmError(Exception):
    """Bad input from the user: the message names the problem and how to fix it."""

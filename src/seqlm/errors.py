"""The one exception type seqlm raises for bad input.

A `SeqlmError` carries a one-line message that names the problem and the fix; the CLI prints
it without a traceback and exits non-zero. Programming errors stay ordinary exceptions.
"""


class SeqlmError(Exception):
    """Bad input from the user: the message names the problem and how to fix it."""


class ConfigError(SeqlmError):
    """A config value outside its allowed type or range.

    `path` is the field's dotted name inside its config ("schedule.lr"), `value` what was
    given and `problem` what is wrong and what would do ("is out of range: choose a value
    > 0"). The CLI turns the
    field's last name into its option (`lr` -> `--lr`) where the command has one, so the
    message names the flag a user can fix; a config file's errors name the file."""

    def __init__(self, path: str, value: object, problem: str, source: str | None = None):
        self.path, self.value, self.problem, self.source = path, value, problem, source
        where = f"config file {source}: " if source else ""
        super().__init__(f"{where}{path} = {show(value)} {problem}")

    @property
    def leaf(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def within(self, prefix: str | None = None, source: str | None = None) -> "ConfigError":
        """The same error seen from an enclosing config (`prefix.path`) or file."""
        path = f"{prefix}.{self.path}" if prefix else self.path
        return ConfigError(path, self.value, self.problem, source or self.source)


def show(value: object) -> str:
    """A value as a user typed it: 0.001 not 0.0010000, strings quoted."""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)

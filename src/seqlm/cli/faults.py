"""Turning what goes wrong into one line: a config value out of range becomes the option that
sets it, and a machine fault (read-only folder, full disk, a folder where a file should be)
becomes its reason and a way out. No traceback reaches a user for these; a programming error
still shows one, since it is ours to fix."""

import argparse
import errno

from seqlm.errors import ConfigError, show

OS_FIXES = {
    errno.ENOSPC: "free some disk space or write somewhere else",
    errno.EDQUOT: "free some of your disk quota or write somewhere else",
    errno.EROFS: "write somewhere writable",
    errno.EACCES: "write somewhere writable, or change the folder's permissions",
    errno.EPERM: "write somewhere writable, or change the folder's permissions",
    errno.EISDIR: "give a file path, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: fix the path",
    errno.ENAMETOOLONG: "give a shorter path",
    errno.EFBIG: "the file is larger than this system allows: write somewhere else",
    errno.EIO: "the disk reported an input/output error: check it or write somewhere else",
}


class DefaultsFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, where it has one and does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or "").strip()
        if action.help is argparse.SUPPRESS or "default" in text or not action.option_strings:
            return text
        if has_no_default(action):
            return text
        return f"{text} (default: %(default)s)".strip()


def has_no_default(action: argparse.Action) -> bool:
    """No default worth stating: None, a flag's False, or help/version."""
    return (action.default is None or action.default is False
            or action.default == argparse.SUPPRESS
            or isinstance(action, argparse._HelpAction | argparse._VersionAction))


def attach_parsers(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command's namespace its own parser, so errors can name its options,
    and every parser the formatter that shows defaults."""
    parser.formatter_class = DefaultsFormatter
    for action in parser._actions:
        if action.option_strings and not action.help and not has_no_default(action):
            action.help = "(default: %(default)s)"  # argparse prints no line without help
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(_parser=sub)
                attach_parsers(sub)


def option_for(args: argparse.Namespace, field: str) -> str | None:
    """The command's option that sets config field `field` (`lr` -> `--lr`, `max_errors` ->
    `--errors`), if it has one: options derived from the config know their field."""
    parser = getattr(args, "_parser", None)
    if parser is None:
        return None
    dests = [dest for dest, (_, name) in (getattr(args, "_config_options", None) or {}).items()
             if name == field]  # options derived from the config (seqlm.cli.config_args)
    dests.append(field)  # a hand-made option whose dest is the field's name
    for dest in dests:
        for action in parser._actions:
            if action.dest == dest and action.option_strings:
                return max(action.option_strings, key=len)
    return None


def config_message(error: ConfigError, args: argparse.Namespace) -> str:
    flag = option_for(args, error.leaf)
    if error.source is None and flag is not None:
        return f"{flag} {show(error.value)} {error.problem}"
    return str(error)


def os_message(error: OSError) -> str:
    """`cannot write PATH: No space left on device: free some disk space ...`."""
    path = error.filename or "a file"
    reason = error.strerror or str(error)
    fix = OS_FIXES.get(error.errno, "check the path and try again")
    return f"cannot use {path}: {reason}: {fix}"

"""The `seqlm` command: parse -> build a config -> call the library; nothing else.

Each command group lives in its own module here with `register(subparsers)`; this file joins
them and turns `SeqlmError` (bad input) and `OSError` (a machine fault) into a one-line message
and exit code 2 (`seqlm.cli.faults`). Command modules import
heavy libraries (torch) inside their handlers, so `seqlm ngram ...` never loads torch; and
`main` builds only the parser of the command it runs (`COMMANDS`), so `seqlm ngram train`
imports no LM, lab or seq2seq code either (start-up is part of a short command's time).
"""

import argparse
import importlib
import os
import signal
import sys
import warnings

from seqlm import __version__
from seqlm.cli.faults import attach_parsers, config_message, os_message
from seqlm.cli.signals import exit_code, handling_signals, signal_of
from seqlm.errors import ConfigError, SeqlmError

# every top-level command and the module whose `register` adds it, in `seqlm --help`'s order
COMMANDS = {
    "data": "seqlm.cli.data",
    "lab": "seqlm.cli.lab",
    "ngram": "seqlm.cli.ngram",
    "mix": "seqlm.cli.mix",
    "by-hand": "seqlm.cli.byhand",
    "vanishing": "seqlm.cli.vanishing",
    "train": "seqlm.cli.lm",
    "eval": "seqlm.cli.lm",
    "sample": "seqlm.cli.lm",
    "compare": "seqlm.cli.lm",
    "seq2seq": "seqlm.cli.seq2seq",
    "structure": "seqlm.cli.structure",
    "report": "seqlm.cli.report",
    "export": "seqlm.cli.export",
    "serve": "seqlm.cli.serve",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with `argv`, of the command it names only (its module
    alone is imported), and of the action it names only where the module lists its
    `ACTIONS` (`seqlm ngram train`). An `argv` that names no command (`--help`,
    `--version`, a typo) gets every command, and one that names no action of such a command
    every action, so the help lists them all and the error names the choices."""
    parser = OneLineParser(
        prog="seqlm",
        description="Language and sequence modelling the way it was done before transformers.",
    )
    parser.add_argument("--version", action="version", version=f"seqlm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=OneLineParser)
    named = COMMANDS.get(argv[0]) if argv else None
    action = argv[1] if named and len(argv) > 1 else None
    for name in (named,) if named else COMMAND_MODULES:
        module = importlib.import_module(name)
        if action in getattr(module, "ACTIONS", ()):  # that action's parser alone
            module.register(sub, action)
        else:
            module.register(sub)
    attach_parsers(parser)
    return parser


class OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (an unknown option, a bad choice) as seqlm's one line, exit 2;
    the usage is one `--help` away."""

    def error(self, message: str):
        print(f"seqlm: error: {' '.join(message.split())} (see `{self.prog} --help`)",
              file=sys.stderr)
        raise SystemExit(2)


def single_threaded_blas() -> None:
    """One OpenBLAS thread unless the user chose otherwise. The NumPy reference multiplies
    small matrices (B x H by H x G*H) once per time step; with a busy second core, OpenBLAS's
    worker threads spin and the same training runs ~10x slower. Works only before NumPy is
    first imported, so `main` calls it before any command module loads; torch's threads (which
    follow OMP_NUM_THREADS) are left alone."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# glibc's mallopt parameters (malloc.h) and the values set: arrays under 16 MiB come from
# the heap, and up to 32 MiB freed at its top stays mapped for the next ones
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_MMAP_THRESHOLD, HEAP_TRIM_THRESHOLD = 16 << 20, 32 << 20


def steady_heap() -> None:
    """Keep NumPy's temporaries on a heap that is reused, not handed back to the system and
    faulted in again at the next array: glibc starts by mapping every block over 128 KiB on
    its own and unmapping it when freed, so a Tiny Shakespeare `ngram train` took 37,000 page
    faults (0.1 s of system time, a fifth of its CPU); with these two settings 19,000, the
    peak memory unchanged. glibc's own dynamic threshold ends near these values once warmed;
    this starts there. Nothing happens where the C library has no `mallopt` (not glibc)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD)


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a discount fallback, an `<unk>` in a source) as one line, without the source
    line Python's default format prints under them."""
    print(f"seqlm: warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    single_threaded_blas()
    steady_heap()
    warnings.showwarning = one_line_warning
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        with handling_signals():
            return int(args.func(args) or 0)
    except ConfigError as e:
        return fail(config_message(e, args))
    except SeqlmError as e:
        return fail(str(e))
    except BrokenPipeError:  # `seqlm ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # the machine's fault: read-only folder, full disk, ...
        return fail(os_message(e))
    except KeyboardInterrupt as e:  # SIGINT or SIGTERM (seqlm.cli.signals)
        signum = signal_of(e)
        print(f"seqlm: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return exit_code(signum)


def fail(message: str) -> int:
    """The one-line error and exit code 2."""
    print(f"seqlm: error: {' '.join(message.split())}", file=sys.stderr)
    return 2

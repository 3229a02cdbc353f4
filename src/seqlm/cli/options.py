"""Argument groups shared by several commands: corpus choice (derived from a CorpusConfig),
run directory, output form and TensorBoard logs."""

import argparse
import json
import sys

from seqlm.cli.config_args import add_config_options
from seqlm.config import CorpusConfig

CORPUS_OPTIONS = ("name", "seed", "size", "valid_fraction", "test_fraction", "data_dir", "path",
                  "encoding_errors", "plural", "hold_out_verbs", "regime", "include")
CORPUS_FLAGS = {"name": "--corpus", "path": "--data-path"}


def add_corpus_args(parser: argparse.ArgumentParser, corpus: CorpusConfig | None = None,
                    section: str = "corpus", names: tuple[str, ...] = CORPUS_OPTIONS) -> None:
    """The corpus options, derived from `corpus` (the command's config's CorpusConfig, whose
    values are the defaults) into config section `section`."""
    add_config_options(parser.add_argument_group("data (CorpusConfig)"),
                       corpus or CorpusConfig(), section, names=names, flags=CORPUS_FLAGS,
                       types={"include": include_patterns})


def include_patterns(value: str) -> tuple[str, ...]:
    """'*.c, *.h' -> ('*.c', '*.h')."""
    return tuple(p.strip() for p in value.split(",") if p.strip())


def add_run_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("run directory")
    g.add_argument("--out", default=None, help="run directory (default runs/<command>-<time>)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing run directory")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def emit(args: argparse.Namespace, payload: dict, text: str) -> None:
    """Print `payload` as JSON with --json, else the human-readable `text`."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def add_tensorboard_arg(parser: argparse.ArgumentParser) -> None:
    """`--tensorboard DIR`: the trainer's records as TensorBoard event files (optional)."""
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write TensorBoard logs here: loss, learning rate, gradient "
                             "norms, tokens/s, validation scores (needs seqlm[tensorboard])")

"""Argument groups shared by several commands: corpus choice, run directory, output form, the
training loop and the device."""

import argparse
import json
import sys

from seqlm.config import CorpusConfig


def add_corpus_args(parser: argparse.ArgumentParser, default: str = "verbs") -> None:
    g = parser.add_argument_group("data")
    g.add_argument("--corpus", default=default,
                   help="corpus name (see `seqlm data list`) or file:PATH (default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="seed for generated corpora and runs")
    g.add_argument("--size", type=int, default=None, help="generated corpora: sentences or pairs")
    g.add_argument("--valid-fraction", type=float, default=CorpusConfig.valid_fraction)
    g.add_argument("--test-fraction", type=float, default=CorpusConfig.test_fraction)
    g.add_argument("--data-dir", default=None,
                   help="folder of downloaded corpora (default $SEQLM_DATA_DIR or ~/.cache/seqlm)")
    g.add_argument("--data-path", default=None, help="a local copy of a downloadable corpus")
    g.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    g.add_argument("--plural", action="store_true", help="verbs: plural persons too")
    g.add_argument("--hold-out-verbs", nargs="*", default=[], metavar="VERB",
                   help="verbs: lemmas kept out of the training split")
    g.add_argument("--regime", choices=["plain", "long"], default="plain",
                   help="dates: plain dates or long inputs with distractors")
    add_include_arg(g)
    parser.set_defaults(_fields={**(parser.get_default("_fields") or {}), **CORPUS_FIELDS})


# CorpusConfig field -> the option that sets it, where the names differ
CORPUS_FIELDS = {"name": "corpus", "path": "data_path"}


def add_include_arg(group, default: tuple[str, ...] | None = CorpusConfig.include) -> None:
    """`--include '*.c,*.h'`: which files of a file:DIR folder are read."""
    group.add_argument("--include", type=include_patterns, default=default,
                       metavar="GLOBS", help="file:DIR: read only files whose name or path "
                       "matches one of these comma-separated globs, e.g. '*.c,*.h'")


def include_patterns(value: str) -> tuple[str, ...]:
    """'*.c, *.h' -> ('*.c', '*.h')."""
    return tuple(p.strip() for p in value.split(",") if p.strip())


def corpus_config(args: argparse.Namespace) -> CorpusConfig:
    return CorpusConfig(
        name=args.corpus, seed=args.seed, size=args.size, valid_fraction=args.valid_fraction,
        test_fraction=args.test_fraction, data_dir=args.data_dir, path=args.data_path,
        encoding_errors=args.encoding_errors, plural=args.plural,
        hold_out_verbs=tuple(args.hold_out_verbs), regime=args.regime, include=args.include,
    )


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


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")


def add_tensorboard_arg(parser: argparse.ArgumentParser) -> None:
    """`--tensorboard DIR`: the trainer's records as TensorBoard event files (optional)."""
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write TensorBoard logs here: loss, learning rate, gradient "
                             "norms, tokens/s, validation scores (needs seqlm[tensorboard])")

"""`seqlm structure`: what recurrent cells learn about brackets, indentation and strings.

`seqlm structure --brackets` trains RNN, LSTM and GRU on the Dyck corpus beside an n-gram;
`seqlm structure RUN` analyses a trained language model (brackets or code). Both write a run
directory with `report.md`, `manifest.json` and the pictures.
"""

import argparse
import sys

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import (
    add_config_options,
    add_options,
    config_of,
    link_option,
    use_config,
)
from seqlm.cli.options import add_output_args, add_run_args, emit
from seqlm.config import StructureConfig
from seqlm.errors import SeqlmError

# the options, in this order: fields of StructureConfig and of its run `train`
STRUCTURE = ("train.model.hidden_size", "train.engine.max_steps", "train.engine.threads",
             "train.engine.device", "ngram_order", "samples", "sample_length", "temperature",
             "train.seed")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("structure", help="what the cells learn: bracket depth, indentation, "
                                         "strings; closing accuracy, balanced samples, units")
    p.add_argument("run", nargs="?", default=None, metavar="RUN",
                   help="a trained LM (run directory or checkpoint) to analyse")
    p.add_argument("--brackets", action="store_true",
                   help="train RNN, LSTM and GRU on the brackets corpus and compare them with "
                        "an n-gram (instead of RUN)")
    p.add_argument("--quick", action="store_true", help="--brackets at a budget of seconds")
    base = StructureConfig()
    add_options(p, base, STRUCTURE)
    add_config_options(p, base.train.corpus.brackets, "train.corpus.brackets",
                       names=("types",), flags={"types": "--bracket-types"})
    link_option(p, "train", "seed", "train.corpus.seed")
    add_run_args(p)
    add_output_args(p)
    use_config(p, base)
    p.set_defaults(func=structure_command)


def build_config(args: argparse.Namespace) -> StructureConfig:
    """The defaults (or `--quick`'s budget), then every option given on the command line."""
    from seqlm.config import QUICK_STRUCTURE, merge

    return config_of(args, merge(StructureConfig(), QUICK_STRUCTURE) if args.quick else None)


def structure_command(args: argparse.Namespace) -> int:
    if (args.run is None) == (not args.brackets):
        raise SeqlmError("give a trained run to analyse (seqlm structure RUN) or --brackets, "
                         "not both and not neither")
    if args.quick and not args.brackets:
        raise SeqlmError("--quick sets the budget of --brackets: add --brackets or drop --quick")
    from seqlm.lab.structure import run_structure

    config = build_config(args)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, section = run_structure(config, target=args.run, out=args.out,
                                     overwrite=args.overwrite, argv=["seqlm", *sys.argv[1:]],
                                     progress=bars)
    finally:
        bars.close()
    emit(args, {"run": str(run.path), **section.metrics},
         f"{section.markdown}\n\nrun directory {run.path}\nreport {run.path / 'report.md'}")
    return 0

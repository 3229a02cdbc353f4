"""`seqlm structure`: what recurrent cells learn about brackets, indentation and strings.

`seqlm structure --brackets` trains RNN, LSTM and GRU on the Dyck corpus beside an n-gram;
`seqlm structure RUN` analyses a trained language model (brackets or code). Both write a run
directory with `report.md`, `manifest.json` and the pictures.
"""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.options import add_device_arg, add_output_args, add_run_args, emit
from seqlm.config import StructureConfig
from seqlm.errors import SeqlmError

DEFAULTS = StructureConfig()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("structure", help="what the cells learn: bracket depth, indentation, "
                                         "strings; closing accuracy, balanced samples, units")
    p.add_argument("run", nargs="?", default=None, metavar="RUN",
                   help="a trained LM (run directory or checkpoint) to analyse")
    p.add_argument("--brackets", action="store_true",
                   help="train RNN, LSTM and GRU on the brackets corpus and compare them with "
                        "an n-gram (instead of RUN)")
    p.add_argument("--quick", action="store_true", help="--brackets at a budget of seconds")
    p.add_argument("--steps", type=int, help=f"--brackets: steps per cell ({DEFAULTS.steps})")
    p.add_argument("--lstm-hidden", type=int, help="--brackets: the LSTM's hidden size, which "
                   f"sets the parameter budget ({DEFAULTS.lstm_hidden})")
    p.add_argument("--bracket-types", type=int,
                   help=f"--brackets: k of Dyck-k, 1 to 4 ({DEFAULTS.corpus.brackets.types})")
    p.add_argument("--ngram-order", type=int,
                   help=f"--brackets: order of the n-gram baseline ({DEFAULTS.ngram_order})")
    p.add_argument("--samples", type=int,
                   help=f"RUN on code: samples per model ({DEFAULTS.samples})")
    p.add_argument("--sample-length", type=int,
                   help=f"RUN on code: characters per sample ({DEFAULTS.sample_length})")
    p.add_argument("--temperature", type=float,
                   help=f"RUN on code: sampling temperature ({DEFAULTS.temperature})")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--threads", type=int, default=DEFAULTS.threads)
    add_device_arg(p)
    add_run_args(p)
    add_output_args(p)
    p.set_defaults(func=structure_command, _fields={"types": "bracket_types"})


def build_config(args: argparse.Namespace) -> StructureConfig:
    """The defaults (or `--quick`'s budget), then every option given on the command line."""
    from seqlm.config import quick_structure

    base = quick_structure(DEFAULTS) if args.quick else DEFAULTS
    given = {name: getattr(args, name) for name in (
        "steps", "lstm_hidden", "ngram_order", "samples", "sample_length", "temperature")
        if getattr(args, name) is not None}
    brackets = base.corpus.brackets if args.bracket_types is None else \
        replace(base.corpus.brackets, types=args.bracket_types)
    corpus = replace(base.corpus, seed=args.seed, brackets=brackets)
    return replace(base, corpus=corpus, seed=args.seed, threads=args.threads,
                   device=args.device, **given)


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

"""`seqlm compare --agreement`: the options of `AgreementConfig` on `seqlm compare`, and the
command that runs `seqlm.experiments.agreement`. The plain comparison refuses them."""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, given
from seqlm.cli.options import emit
from seqlm.config import AgreementConfig, quick_agreement
from seqlm.errors import SeqlmError

SECTION = "agreement"
OWN = ("sentences", "examples", "lstm_hidden", "max_distance", "buckets", "embedding_dim",
       "num_layers")


def add_agreement_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agreement", action="store_true", help="long-range subject-verb "
                        "agreement by distance on the verbs corpus, per cell")
    add_config_options(parser.add_argument_group("--agreement (AgreementConfig)"),
                       AgreementConfig(), SECTION, names=OWN)


def refuse_without_agreement(args: argparse.Namespace) -> None:
    if SECTION in given(args):
        names = ", ".join("--" + n.replace("_", "-") for n in given(args)[SECTION])
        raise SeqlmError(f"{names} only apply to seqlm compare --agreement: add --agreement "
                         "or drop them")


def agreement_command(args: argparse.Namespace) -> int:
    if args.corpus is not None or args.minutes is not None or args.tensorboard is not None:
        raise SeqlmError("--agreement trains on the verbs corpus at equal steps: drop "
                         "--corpus, --minutes and --tensorboard")
    config = AgreementConfig(seed=args.seed, device=args.device, threads=args.threads)
    if args.quick:
        config = quick_agreement(config)
    config = replace(config, **given(args).get(SECTION, {}))
    if args.cells:
        config = replace(config, cells=tuple(args.cells))
    if args.steps is not None:
        config = replace(config, steps=args.steps)
    from seqlm.experiments.agreement import run_agreement  # torch: after the options

    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, section = run_agreement(config, out=args.out, overwrite=args.overwrite,
                                     argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    emit(args, {"run": str(run.path), **section.metrics},
         f"{section.markdown}\n\nrun directory {run.path}")
    return 0

"""`seqlm compare --agreement` and `seqlm compare --sweep`: their options on `seqlm compare`
(derived from `AgreementConfig` and `SweepConfig`) and the commands that run
`seqlm.lab.agreement` and `seqlm.lab.sweep`. An option of one mode given to
another, or to the plain comparison, is refused in one line."""

import argparse
import sys
from dataclasses import fields, replace

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, config_of, given
from seqlm.cli.options import emit
from seqlm.config import AgreementConfig, SweepConfig, quick_agreement, quick_sweep
from seqlm.errors import SeqlmError

SECTION = "mode"
AGREEMENT = ("sentences", "examples", "lstm_hidden", "max_distance", "buckets",
             "embedding_dim", "num_layers", "lr", "batch_size", "window",
             "agreement_share")
SWEEP = ("budgets", "seeds", "final_eval_max_tokens")


def add_mode_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agreement", action="store_true", help="long-range subject-verb "
                        "agreement by distance on the verbs corpus, per cell")
    parser.add_argument("--sweep", action="store_true", help="every cell over several budgets "
                        "and seeds, with intervals and the crossover")
    group = parser.add_argument_group("--agreement and --sweep (AgreementConfig, SweepConfig; "
                                      "defaults shown are --agreement's where both have one)")
    add_config_options(group, AgreementConfig(), SECTION, names=AGREEMENT)
    add_config_options(group, SweepConfig(), SECTION, names=SWEEP)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def mode_options(args: argparse.Namespace, config, mode: str) -> dict:
    """The mode options given, checked to mean something for `config` (None: plain)."""
    values = given(args).get(SECTION, {})
    own = set() if config is None else {f.name for f in fields(config)}
    foreign = [flag(n) for n in values if n not in own]
    if foreign:
        raise SeqlmError(f"{', '.join(foreign)} mean nothing for seqlm compare{mode}: drop "
                         "them, or use the mode they belong to (--agreement or --sweep)")
    return values


def mode_config(args: argparse.Namespace):
    """The `AgreementConfig` or `SweepConfig` that the options ask for, or None (no mode
    flag, and no mode option given: the plain comparison goes on)."""
    if args.agreement and args.sweep:
        raise SeqlmError("--agreement and --sweep are two runs: give one of them")
    if not (args.agreement or args.sweep):
        mode_options(args, None, "")
        return None
    if args.tensorboard is not None:
        raise SeqlmError("--tensorboard is for the plain comparison: drop it")
    plain = config_of(args)  # the comparison's options, each at its config default if absent
    if args.sweep:
        if args.minutes is not None or args.steps is not None:
            raise SeqlmError("--sweep sets its budgets with --budgets: drop --steps/--minutes")
        base = SweepConfig(corpus=plain.corpus, data_dir=plain.data_dir, threads=plain.threads,
                           device=plain.device)
        config = replace(quick_sweep(base) if args.quick else base,
                         **mode_options(args, base, " --sweep"))
    else:
        if args.corpus is not None or args.minutes is not None:
            raise SeqlmError("--agreement trains on the verbs corpus at equal steps: drop "
                             "--corpus and --minutes")
        base = AgreementConfig(seed=plain.seed, device=plain.device, threads=plain.threads)
        config = replace(quick_agreement(base) if args.quick else base,
                         **mode_options(args, base, " --agreement"))
        if args.steps is not None:
            config = replace(config, steps=args.steps)
    return replace(config, cells=tuple(args.cells)) if args.cells else config


def mode_command(args: argparse.Namespace) -> int | None:
    """Run `--agreement` or `--sweep` if asked (their exit code), else None."""
    config = mode_config(args)
    if config is None:
        return None
    if isinstance(config, SweepConfig):
        from seqlm.lab.sweep import run_sweep as run_mode  # torch: after the options
    else:
        from seqlm.lab.agreement import run_agreement as run_mode
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, section = run_mode(config, out=args.out, overwrite=args.overwrite,
                                argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    emit(args, {"run": str(run.path), **section.metrics},
         f"{section.markdown}\n\nrun directory {run.path}")
    return 0

"""`seqlm compare --agreement` and `seqlm compare --sweep`: their options on `seqlm compare`
(derived from `AgreementConfig` and `SweepConfig`) and the commands that run
`seqlm.lab.agreement` and `seqlm.lab.sweep`. An option of one mode given to
another, or to the plain comparison, is refused in one line."""

import argparse
import sys

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_options, config_of, given, replace_sections
from seqlm.cli.options import emit
from seqlm.config import QUICK_AGREEMENT, QUICK_SWEEP, AgreementConfig, SweepConfig, merge
from seqlm.errors import SeqlmError

SECTION = "mode"
# their options, in this order: fields of each config and of its run `train`
AGREEMENT = ("train.model.hidden_size", "train.model.num_layers", "train.model.embedding_dim",
             "train.batch_size", "train.window", "train.engine.schedule.lr", "sentences",
             "agreement_share", "max_distance", "buckets", "examples")
SWEEP = ("budgets", "seeds", "train.final_eval_max_tokens")


def add_mode_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agreement", action="store_true", help="long-range subject-verb "
                        "agreement by distance on the verbs corpus, per cell")
    parser.add_argument("--sweep", action="store_true", help="every cell over several budgets "
                        "and seeds, with intervals and the crossover")
    group = parser.add_argument_group("--agreement and --sweep (AgreementConfig, SweepConfig; "
                                      "defaults shown are --agreement's where both have one)")
    add_options(group, AgreementConfig(), AGREEMENT, SECTION)
    add_options(group, SweepConfig(), SWEEP, SECTION)


def accepted(config) -> set[str]:
    """The field paths a mode's options may set: its own list, and the fields of its run
    that it names (`OPTIONS`; the sweep takes the agreement's model and optimiser options)."""
    own = AGREEMENT if isinstance(config, AgreementConfig) else SWEEP
    return {*own, *type(config).OPTIONS}


def mode_options(args: argparse.Namespace, config, mode: str) -> dict:
    """The mode options given, by section path within the mode's config, checked to mean
    something for `config` (None: plain)."""
    values = {section.removeprefix(SECTION).removeprefix("."): items
              for section, items in given(args).items()
              if section == SECTION or section.startswith(SECTION + ".")}
    foreign = [flag_of(section, name) for section, items in values.items() for name in items
               if config is None or ".".join(filter(None, (section, name))) not in
               accepted(config)]
    if foreign:
        raise SeqlmError(f"{', '.join(foreign)} mean nothing for seqlm compare{mode}: drop "
                         "them, or use the mode they belong to (--agreement or --sweep)")
    return values


def flag_of(section: str, name: str) -> str:
    """The flag of the mode option that sets field `name` of `section`."""
    path = f"{section}.{name}" if section else name
    named = {**SweepConfig.OPTIONS, **AgreementConfig.OPTIONS}
    return named[path][0] if path in named else "--" + name.replace("_", "-")


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
    plain = config_of(args).train  # the comparison's run: its options, else its defaults
    budget = {k: v for k, v in given(args).get("train.engine", {}).items()
              if k in ("max_steps", "max_minutes")}  # --steps, --minutes
    if args.sweep:
        if budget:
            raise SeqlmError("--sweep sets its budgets with --budgets: drop --steps/--minutes")
        config = merge(SweepConfig(), {"train": {
            "corpus": {"name": plain.corpus.name, "data_dir": plain.corpus.data_dir},
            "engine": {"threads": plain.engine.threads, "device": plain.engine.device}}},
            QUICK_SWEEP if args.quick else {}, {"fallback": config_of(args).fallback})
        config = replace_sections(config, mode_options(args, config, " --sweep"))
    else:
        if "name" in given(args).get("train.corpus", {}) or "max_minutes" in budget:
            raise SeqlmError("--agreement trains on the verbs corpus at equal steps: drop "
                             "--corpus and --minutes")
        config = merge(AgreementConfig(), {"train": {"seed": plain.seed, "engine": {
            "threads": plain.engine.threads, "device": plain.engine.device}}},
            QUICK_AGREEMENT if args.quick else {})
        config = replace_sections(config, mode_options(args, config, " --agreement"))
        if "max_steps" in budget:
            config = merge(config, {"train": {"engine": {"max_steps": budget["max_steps"]}}})
    return merge(config, {"cells": args.cells}) if args.cells else config
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

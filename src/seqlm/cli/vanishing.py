"""`seqlm vanishing`: Jacobian products, measured gradient norms and serial timing, into a
run directory with plots and a generated statement."""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, config_of, use_config
from seqlm.cli.options import add_output_args, add_run_args, emit
from seqlm.config import VanishingConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vanishing", help="why recurrent gradients vanish or explode, and why "
                                         "recurrence is serial: numbers, plots, a statement")
    add_config_options(p, VanishingConfig(), names=("distance", "examples", "train_steps",
                                                    "max_k", "clip_norm", "seed"))
    add_run_args(p)
    add_output_args(p)
    use_config(p, VanishingConfig())
    p.set_defaults(func=vanishing_command)


def vanishing_command(args: argparse.Namespace) -> int:
    from seqlm.lab.vanishing import run_vanishing

    config = replace(config_of(args), out=args.out, overwrite=args.overwrite)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run = run_vanishing(config, argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    m = run.metrics
    rates = "\n".join(f"  {c.upper():<5} x{v['rate_init']:.3f} per step at init, "
                      f"x{v['rate_trained']:.3f} after {v['train_steps']} updates"
                      for c, v in m["empirical"]["cells"].items())
    text = "\n".join([f"decay of ||dL_T/dh_k|| over {config.distance} tokens:", rates, "",
                      m["statement"], "", f"run directory: {run.path}"])
    emit(args, {"run_dir": str(run.path), "statement": m["statement"],
                "rates": {c: {k: v[k] for k in ("rate_init", "rate_trained")}
                          for c, v in m["empirical"]["cells"].items()}}, text)
    return 0

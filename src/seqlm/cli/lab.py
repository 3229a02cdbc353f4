"""`seqlm lab`: run every experiment into one run directory with a report (Markdown and a
web page)."""

import argparse
import signal
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, config_of, register_option, use_config
from seqlm.cli.options import add_output_args, add_run_args, add_tensorboard_arg, emit
from seqlm.cli.signals import GracefulStop, Terminated
from seqlm.config import LabConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="run the whole story end to end and write one report")
    add_config_options(p, LabConfig(), names=("quick", "seed", "data_dir", "device"))
    from seqlm.lab.steps import STEPS  # the step registry (no torch at import)

    # the choices are the registry's, so this one option is made by hand
    p.add_argument("--steps", nargs="*", default=None, choices=list(STEPS), metavar="STEP",
                   help=f"run only these steps, of: {', '.join(STEPS)} (default: all)")
    register_option(p, "steps", "", "steps")
    add_tensorboard_arg(p)
    add_run_args(p)
    add_output_args(p)
    use_config(p, LabConfig())
    p.set_defaults(func=lab_command)


def lab_command(args: argparse.Namespace) -> int:
    from seqlm.lab.steps import run_lab

    config = replace(config_of(args), out=args.out, overwrite=args.overwrite)
    with Bars(enabled=not (args.json or args.quiet)) as bars, \
            GracefulStop(stop_after_the_step) as stop:
        run = run_lab(config, argv=["seqlm", *sys.argv[1:]], progress=bars,
                      tensorboard=args.tensorboard, should_stop=stop.asked)
    if run.status == "interrupted":
        emit(args, {"run_dir": str(run.path), "status": run.status,
                    "steps_not_run": run.extra["steps_not_run"]},
             f"lab interrupted; steps not run: {', '.join(run.extra['steps_not_run'])}\n"
             f"page of the steps done: {run.path / 'report.html'}")
        return stop.exit_code(True)
    report, page = run.path / "report.md", run.path / "report.html"
    payload = {"run_dir": str(run.path), "report": str(report), "page": str(page),
               "metrics": run.metrics, "timings": run.timings}
    emit(args, payload, f"lab finished in {sum(run.timings.values()):.1f} s\n"
                        f"page:     {page}\nreport:   {report}\n"
                        f"manifest: {run.path / 'manifest.json'}")
    return 0


def stop_after_the_step(signum: int) -> None:
    """Ctrl-C lets the running step finish (a second one stops it at once); SIGTERM, which
    is followed by SIGKILL after a grace period, stops at once."""
    if signum == signal.SIGTERM:
        raise Terminated()
    print("\nseqlm: SIGINT: the lab stops after the current step, keeping the page of the "
          "steps done; press Ctrl-C again to stop at once", file=sys.stderr, flush=True)

"""What every training command (`seqlm train`, `seqlm seq2seq train`) does around its run,
written once: progress bars on stderr (none with --json or --quiet), the first SIGINT or
SIGTERM asking the run to stop at a safe point (`GracefulStop`), and the exit code (0, or
130 / 143 after a stop). Under torchrun every rank trains and only rank 0 prints: the caller
prints when `run.writes`. Leaves out: what each command prints (its own summary).
"""

import argparse
from collections.abc import Callable
from typing import Any

from seqlm.cli.bars import Bars
from seqlm.cli.signals import GracefulStop, say_stopping


def train_from_cli(args: argparse.Namespace, train: Callable[..., Any], config: Any,
                   resumed: Any = None, argv: list[str] | None = None) -> tuple[Any, int]:
    """Run `train(config, ...)` (a family's run function) with bars and graceful stopping;
    the finished Run and the command's exit code."""
    with Bars(enabled=not (args.json or args.quiet)) as bars, \
            GracefulStop(say_stopping) as stop:
        run = train(config, out=args.out, overwrite=args.overwrite, resume=resumed, argv=argv,
                    progress=bars, should_stop=stop.asked, tensorboard=args.tensorboard)
    return run, stop.exit_code(run.status == "interrupted")

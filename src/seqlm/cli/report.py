"""`seqlm report RUN`: write RUN/report.html, the run's self-contained web page."""

import argparse

from seqlm.cli.options import emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a run directory's report.html (one file, plots "
                       "inside, opens offline and on a phone)")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories seqlm wrote")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    from seqlm.report.html import write_report

    pages = [str(write_report(run)) for run in args.runs]
    emit(args, {"pages": pages}, "\n".join(pages))
    return 0

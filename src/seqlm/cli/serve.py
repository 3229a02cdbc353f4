"""`seqlm serve RUN [RUN ...] [--host 127.0.0.1] [--port 8000]`: a local web app over the
models named (`seqlm.serve`); the bounds are ServeConfig's fields as options."""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.config_args import add_config_options, config_of, use_config
from seqlm.config import ServeConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="a local web page and JSON API over trained models "
                       "(pip install 'seqlm[serve]')")
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directory, exported model "
                   "folder, ARPA file or binary n-gram model; requests name it by its last "
                   "path name")
    add_config_options(p, ServeConfig(), skip=("runs",))
    use_config(p, ServeConfig())
    p.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    config = replace(config_of(args), runs=tuple(args.runs))
    from seqlm.serve.server import require_server, serve

    require_server()  # before any model loads
    serve(config, started=lambda url: print(f"seqlm serve: {', '.join(config.runs)} at {url}"
                                           " (Ctrl-C stops)", file=sys.stderr, flush=True))
    return 0

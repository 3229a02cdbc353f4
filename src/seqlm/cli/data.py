"""`seqlm data list` and `seqlm data show --corpus NAME` (the corpus option every command
spells the same way)."""

import argparse

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, config_of, use_config
from seqlm.cli.options import add_corpus_args, add_output_args, emit
from seqlm.config import DataShowConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and inspect corpora")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    ls = dsub.add_parser("list", help="every corpus seqlm knows")
    add_output_args(ls)
    ls.set_defaults(func=list_command)

    show = dsub.add_parser("show", help="size, vocabulary, splits, checksum and sample lines")
    base = DataShowConfig()
    add_config_options(show, base, names=("unit",))
    add_corpus_args(show, base.corpus)
    add_output_args(show)
    use_config(show, base)
    show.set_defaults(func=show_command)


def list_command(args: argparse.Namespace) -> int:
    from seqlm.data.corpora import list_corpora

    specs = list_corpora()
    payload = {"corpora": [{"name": s.name, "unit": s.default_unit,
                            "description": s.description} for s in specs]}
    width = max(len(s.name) for s in specs)
    text = "\n".join(f"{s.name:<{width}}  {s.default_unit:<5}  {s.description}" for s in specs)
    emit(args, payload, text)
    return 0


def show_command(args: argparse.Namespace) -> int:
    from seqlm.data.corpora import load_corpus
    from seqlm.data.summary import summarize

    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        config = config_of(args)
        summary = summarize(load_corpus(config.corpus, bars), unit=config.unit or None)
    finally:
        bars.close()
    sp = summary["splits"]
    lines = [
        f"{summary['name']}: {summary['description']}",
        f"source      {summary['source']}",
        f"sha256      {summary['sha256']}",
        f"size        {summary['chars']:,} characters",
        f"vocabulary  {summary['vocab_size']:,} {summary['unit']} types (train, specials included)",
        *[f"{name:<11} {s['chars']:,} chars, {s['bytes']:,} bytes, {s['tokens']:,} "
          f"{summary['unit']} tokens, {s['lines']:,} lines" for name, s in sp.items()],
        "samples:",
        *[f"  {line}" for line in summary["samples"]],
    ]
    emit(args, summary, "\n".join(lines))
    return 0

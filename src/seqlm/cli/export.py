"""`seqlm export RUN --format hf --out DIR`: a trained run as config.json + model.safetensors
+ a model card, loadable by `seqlm.load(DIR)`, `seqlm sample|eval DIR` and
`seqlm seq2seq translate DIR` without unpickling. Leaves out: --format onnx (not built)."""

import argparse

from seqlm.cli.options import add_output_args, emit
from seqlm.config import EXPORT_FORMATS, ExportConfig


def register(sub: argparse._SubParsersAction) -> None:
    d = ExportConfig()
    p = sub.add_parser("export", help="write a trained run as config.json + model.safetensors "
                       "+ README.md (a model card), loadable without pickle")
    p.add_argument("run", metavar="RUN", help="run directory of `seqlm train` or "
                   "`seqlm seq2seq train`")
    p.add_argument("--format", default=d.format, choices=EXPORT_FORMATS,
                   help="hf: the Hugging Face Hub's folder layout")
    p.add_argument("--out", required=True, help="the folder to write (new or empty)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a folder seqlm exported earlier")
    add_output_args(p)  # --quiet: export draws no bars; accepted like every command's
    p.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    config = ExportConfig(run=args.run, out=args.out, format=args.format,
                          overwrite=args.overwrite)
    from seqlm.export.hf import export_run  # torch: after the options are checked

    out = export_run(config)
    emit(args, {"out": str(out), "files": sorted(p.name for p in out.iterdir())},
         f"exported {args.run} to {out} (config.json, model.safetensors, README.md)")
    return 0

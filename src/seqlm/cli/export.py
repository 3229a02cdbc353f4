"""`seqlm export RUN --format hf --out DIR`: a trained run as config.json + model.safetensors
+ a model card, loadable by `seqlm.load(DIR)`, `seqlm sample|eval DIR` and
`seqlm seq2seq translate DIR` without unpickling; `--format onnx --out FILE`: its one step
as ONNX (`seqlm.export.onnx`), sampled by `seqlm sample FILE --runtime onnx`."""

import argparse
from dataclasses import replace

from seqlm.cli.config_args import add_config_options, config_of, use_config
from seqlm.cli.options import add_output_args, emit
from seqlm.config import ExportConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a trained run as config.json + model.safetensors "
                       "+ README.md (a model card), loadable without pickle")
    p.add_argument("run", metavar="RUN", help="run directory of `seqlm train` or "
                   "`seqlm seq2seq train`")
    add_config_options(p, ExportConfig(), names=("format", "source_length", "onnx_exporter"))
    p.add_argument("--out", required=True, help="the folder to write (new or empty); with "
                   "--format onnx the file (seq2seq: and FILE.decoder.onnx beside it)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a folder (an ONNX file) seqlm exported earlier")
    add_output_args(p)  # --quiet: export draws no bars; accepted like every command's
    use_config(p, ExportConfig())
    p.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    config = replace(config_of(args), run=args.run, out=args.out, overwrite=args.overwrite)
    from seqlm.export.hf import export_run  # torch: after the options are checked

    out = export_run(config)
    if config.format == "onnx":
        emit(args, {"out": str(out)}, f"exported {args.run}'s step to {out} (ONNX)")
        return 0
    emit(args, {"out": str(out), "files": sorted(p.name for p in out.iterdir())},
         f"exported {args.run} to {out} (config.json, model.safetensors, README.md)")
    return 0

"""`seqlm export RUN --format hf --out DIR`: a trained run as config.json + model.safetensors
+ a model card, loadable by `seqlm.load(DIR)`, `seqlm sample|eval DIR` and
`seqlm seq2seq translate DIR` without unpickling; `--format onnx --out FILE`: its one step
as ONNX (`seqlm.export.onnx`), sampled by `seqlm sample FILE --runtime onnx`."""

import argparse

from seqlm.cli.options import add_output_args, emit
from seqlm.config import EXPORT_FORMATS, ONNX_EXPORTERS, ExportConfig


def register(sub: argparse._SubParsersAction) -> None:
    d = ExportConfig()
    p = sub.add_parser("export", help="write a trained run as config.json + model.safetensors "
                       "+ README.md (a model card), loadable without pickle")
    p.add_argument("run", metavar="RUN", help="run directory of `seqlm train` or "
                   "`seqlm seq2seq train`")
    p.add_argument("--format", default=d.format, choices=EXPORT_FORMATS,
                   help="hf: the Hugging Face Hub's folder layout; onnx: the one-step "
                   "function, state in and out (needs pip install 'seqlm[onnx]')")
    p.add_argument("--out", required=True, help="the folder to write (new or empty); with "
                   "--format onnx the file (seq2seq: and FILE.decoder.onnx beside it)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a folder (an ONNX file) seqlm exported earlier")
    p.add_argument("--source-length", type=int, default=d.source_length,
                   help="seq2seq --format onnx: the encoder's source length (padded to it)")
    p.add_argument("--onnx-exporter", default=d.onnx_exporter, choices=ONNX_EXPORTERS,
                   help="torchscript: torch.onnx.export(dynamo=False), dynamo: torch.export "
                   "+ onnxscript")
    add_output_args(p)  # --quiet: export draws no bars; accepted like every command's
    p.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    config = ExportConfig(run=args.run, out=args.out, format=args.format,
                          overwrite=args.overwrite, source_length=args.source_length,
                          onnx_exporter=args.onnx_exporter)
    from seqlm.export.hf import export_run  # torch: after the options are checked

    out = export_run(config)
    if config.format == "onnx":
        emit(args, {"out": str(out)}, f"exported {args.run}'s step to {out} (ONNX)")
        return 0
    emit(args, {"out": str(out), "files": sorted(p.name for p in out.iterdir())},
         f"exported {args.run} to {out} (config.json, model.safetensors, README.md)")
    return 0

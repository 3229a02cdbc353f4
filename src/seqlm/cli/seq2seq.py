"""`seqlm seq2seq train|translate|eval|compare`: date normalisation with attention."""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import (
    add_config_options,
    apply_options,
    check_unchanged,
    config_of,
    use_config,
)
from seqlm.cli.options import add_output_args, add_run_args, add_tensorboard_arg, emit
from seqlm.config import Seq2SeqCompareConfig, Seq2SeqConfig, Seq2SeqDecodeConfig, Seq2SeqEvalConfig
from seqlm.errors import SeqlmError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seq2seq", help="encoder-decoder with attention on the dates corpus")
    ssub = p.add_subparsers(dest="seq2seq_command", metavar="ACTION", required=True)
    add_train(ssub)
    add_translate(ssub)
    add_eval(ssub)
    c = ssub.add_parser("compare", help="no attention vs Bahdanau vs Luong vs scaled dot")
    add_config_options(c, Seq2SeqCompareConfig(), names=("preset", "seed", "device"))
    use_config(c, Seq2SeqCompareConfig())
    add_run_args(c)
    add_output_args(c)
    c.set_defaults(func=compare_command)


def add_train(ssub: argparse._SubParsersAction) -> None:
    """Every option of a Seq2SeqConfig, derived from the config (`seqlm.cli.config_args`)."""
    t = ssub.add_parser("train", help="train on dates (plain and long regimes joined)")
    base = Seq2SeqConfig()
    use_config(t, base)
    data = t.add_argument_group("data (Seq2SeqConfig, CorpusConfig)")
    add_config_options(data, base.corpus, "corpus", names=("size", "hold_out_formats"))
    add_config_options(data, base, names=("regimes", "train_size"))
    add_config_options(t.add_argument_group("model (Seq2SeqModelConfig)"), base.model, "model")
    add_config_options(t.add_argument_group("batches and scheduled sampling "
                                            "(Seq2SeqTrainConfig)"), base.train, "train")
    add_config_options(t.add_argument_group("training loop (EngineConfig)"), base.engine,
                       "engine")
    add_config_options(t.add_argument_group("learning rate (ScheduleConfig)"),
                       base.engine.schedule, "engine.schedule")
    t.add_argument("--resume", default=None, metavar="RUN",
                   help="go on from a run directory (or its last.pt): in place, or into --out "
                        "if given")
    add_tensorboard_arg(t)
    add_run_args(t)
    add_output_args(t)
    t.set_defaults(func=train_command)


def add_decode_args(p: argparse.ArgumentParser, section: str) -> None:
    p.add_argument("checkpoint", help="best.pt / last.pt, or a run directory holding best.pt")
    add_config_options(p, Seq2SeqDecodeConfig(), section, names=("beam_width", "length_alpha",
                                                                 "device"))


def add_translate(ssub: argparse._SubParsersAction) -> None:
    t = ssub.add_parser("translate", help="normalise dates with a trained model")
    add_decode_args(t, "")
    add_config_options(t, Seq2SeqDecodeConfig(), names=("runtime",))
    use_config(t, Seq2SeqDecodeConfig())
    t.add_argument("sources", nargs="*", help="source strings, e.g. 'March 14, 2024'")
    t.add_argument("--input", default=None, help="a file with one source per line")
    t.add_argument("--heatmap", default=None, help="write the attention heatmap (one source)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace an existing --heatmap file that seqlm wrote")
    add_output_args(t)
    t.set_defaults(func=translate_command)


def add_eval(ssub: argparse._SubParsersAction) -> None:
    e = ssub.add_parser("eval", help="exact match, per-character accuracy, errors")
    add_decode_args(e, "decode")
    add_config_options(e, Seq2SeqEvalConfig(), names=("tsv", "max_errors", "held_out_formats",
                                                      "held_out_size"),
                       flags={"max_errors": "--errors"})
    use_config(e, Seq2SeqEvalConfig())
    add_run_args(e)
    add_output_args(e)
    e.set_defaults(func=eval_command)


def train_config(args: argparse.Namespace, base: Seq2SeqConfig | None = None) -> Seq2SeqConfig:
    """The config the options describe (`--seed` seeds the data, the weights and the batches);
    resuming, the checkpoint's with the loop's budgets and placement applied."""
    if base is not None:
        from seqlm.runs.training_run import MAY_CHANGE_ON_RESUME

        check_unchanged(base, args, MAY_CHANGE_ON_RESUME["seq2seq"])
        return apply_options(base, args)
    config = apply_options(Seq2SeqConfig(), args)
    seed = config.train.seed
    return replace(config, corpus=replace(config.corpus, seed=seed))


def train_command(args: argparse.Namespace) -> int:
    from seqlm.cli.training import train_from_cli
    from seqlm.config import from_dict
    from seqlm.runs.seq2seq import run_training
    from seqlm.runs.seq2seq_eval import format_summary
    from seqlm.runs.training_run import resume_from

    base, resumed = None, resume_from(args.resume, "seq2seq") if args.resume else None
    if resumed is not None:
        base = from_dict(Seq2SeqConfig, resumed.payload["config"], source=args.resume)
    run, code = train_from_cli(args, run_training, train_config(args, base), resumed,
                               argv=["seqlm", *sys.argv[1:]])
    if not run.writes:  # under torchrun rank 0 alone prints
        return code
    m = run.metrics
    text = [f"{m['status']} after {m['steps']} steps; best valid exact match "
            f"{100 * m['best_valid_exact']:.2f}% at step {m['best_step']}"]
    text += [f"[{regime}] {format_summary(s)}" for regime, s in m.get("test", {}).items()]
    text += [f"run: {run.path} (best.pt, last.pt, manifest.json)"]
    emit(args, {"run_dir": str(run.path), "metrics": m}, "\n".join(text))
    return code


def load(checkpoint: str, device: str):
    """The model of `checkpoint` (a file, or a run directory's best.pt) on `device`."""
    from seqlm.checkpoint import load as load_checkpoint
    from seqlm.training.devices import resolve_device

    loaded = load_checkpoint(checkpoint, resolve_device(device), kind="seq2seq")
    return loaded.model, loaded.vocab, loaded.config


def read_sources(args: argparse.Namespace) -> list[str]:
    sources = list(args.sources)
    if args.input is not None:
        try:
            text = Path(args.input).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SeqlmError(f"input file {args.input} does not exist") from None
        sources += text.splitlines()
    if not sources:
        raise SeqlmError("nothing to translate: give source strings or --input FILE")
    return sources


def translate_command(args: argparse.Namespace) -> int:
    from seqlm.decoding.seq2seq import translate

    sources = read_sources(args)
    if args.heatmap is not None:
        from seqlm.runs.overwrite import check_output_file

        if len(sources) != 1:
            raise SeqlmError(f"--heatmap draws one source, got {len(sources)}: translate them "
                             "one at a time")
        check_output_file(args.heatmap, args.overwrite, "--heatmap")
    config = config_of(args)
    if config.runtime == "onnx":
        from seqlm.export.onnx_translate import translate as translate_onnx

        found = translate_onnx(args.checkpoint, sources, config)
    else:
        model, vocabs, _ = load(args.checkpoint, config.device)
        found = translate(model, vocabs, sources, config)
    payload = {"translations": [{"source": t.source, "output": t.output,
                                 "logprob_nats": t.logprob_nats} for t in found]}
    if args.heatmap is not None:
        from seqlm.report.seq2seq_plots import attention_heatmap

        payload["heatmap"] = str(attention_heatmap(found[0], args.heatmap))
    emit(args, payload, "\n".join(t.output for t in found))
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from seqlm.runs.seq2seq_eval import format_summary, run_eval

    config = replace(config_of(args), checkpoint=args.checkpoint)
    run = run_eval(config, out=args.out, overwrite=args.overwrite,
                   argv=["seqlm", *sys.argv[1:]], device=config.decode.device)
    text = []
    for name, s in run.metrics["scores"].items():
        text += [f"[{name}] {format_summary(s)}", *[
            f"  {e['source']!r}: expected {e['target']!r}, got {e['output']!r}"
            for e in s["errors"]]]
    text.append(f"run directory {run.path}")
    emit(args, {"run": str(run.path), "scores": run.metrics["scores"]}, "\n".join(text))
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from seqlm.lab.seq2seq_compare import run_compare

    config = replace(config_of(args), out=args.out, overwrite=args.overwrite)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run = run_compare(config, argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    report = run.path / "report.md"
    emit(args, {"run_dir": str(run.path), "report": str(report), "metrics": run.metrics},
         report.read_text(encoding="utf-8") + f"\nreport: {report}")
    return 0

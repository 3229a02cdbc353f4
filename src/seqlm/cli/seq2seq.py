"""`seqlm seq2seq train|translate|eval|compare`: date normalisation with attention."""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from seqlm.cli.bars import Bars
from seqlm.cli.options import add_output_args, add_run_args, emit
from seqlm.config import (
    SEQ2SEQ_COMPARE_PRESETS,
    CorpusConfig,
    Seq2SeqCompareConfig,
    Seq2SeqConfig,
    Seq2SeqDecodeConfig,
    Seq2SeqEvalConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
)
from seqlm.errors import SeqlmError

M, T, D = Seq2SeqModelConfig, Seq2SeqTrainConfig, Seq2SeqDecodeConfig
ATTENTIONS = ["none", "bahdanau", "dot", "general", "scaled_dot"]
SCHEDULES = ["none", "linear", "exponential", "inverse_sigmoid"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seq2seq", help="encoder-decoder with attention on the dates corpus")
    ssub = p.add_subparsers(dest="seq2seq_command", metavar="ACTION", required=True)
    add_train(ssub)
    add_translate(ssub)
    add_eval(ssub)
    c = ssub.add_parser("compare", help="no attention vs Bahdanau vs Luong vs scaled dot")
    c.add_argument("--preset", choices=list(SEQ2SEQ_COMPARE_PRESETS),
                   default=Seq2SeqCompareConfig.preset, help="pre-registered budget")
    c.add_argument("--seed", type=int, default=Seq2SeqCompareConfig.seed)
    add_run_args(c)
    add_output_args(c)
    c.set_defaults(func=compare_command)


def add_train(ssub: argparse._SubParsersAction) -> None:
    t = ssub.add_parser("train", help="train on dates (plain and long regimes joined)")
    g = t.add_argument_group("data")
    g.add_argument("--regimes", nargs="+", choices=["plain", "long"],
                   default=list(Seq2SeqConfig.regimes))
    g.add_argument("--seed", type=int, default=T.seed, help="data, initialisation, batches")
    g.add_argument("--size", type=int, default=None, help="generated pairs per regime")
    g.add_argument("--train-size", type=int, default=None, help="use only N training pairs")
    m = t.add_argument_group("model")
    m.add_argument("--attention", choices=ATTENTIONS, default=M.attention)
    m.add_argument("--cell", choices=["gru", "lstm"], default=M.cell)
    m.add_argument("--embedding-size", type=int, default=M.embedding_size)
    m.add_argument("--hidden-size", type=int, default=M.hidden_size)
    m.add_argument("--attention-size", type=int, default=M.attention_size)
    m.add_argument("--unidirectional", action="store_true", help="one-way encoder")
    m.add_argument("--no-input-feeding", action="store_true", help="Luong variants")
    o = t.add_argument_group("training")
    o.add_argument("--steps", type=int, default=T.steps)
    o.add_argument("--batch-size", type=int, default=T.batch_size)
    lr = T().lr_schedule
    o.add_argument("--lr", type=float, default=lr.lr, help="Adam's peak learning rate")
    o.add_argument("--warmup-steps", type=int, default=lr.warmup_steps)
    o.add_argument("--decay", choices=["cosine", "plateau", "constant"], default=lr.decay,
                   help="learning-rate decay after warm-up (seqlm.training.schedule)")
    o.add_argument("--min-lr-ratio", type=float, default=lr.min_lr_ratio)
    o.add_argument("--clip", type=float, default=T.clip)
    o.add_argument("--eval-every", type=int, default=T.eval_every)
    o.add_argument("--eval-size", type=int, default=T.eval_size)
    o.add_argument("--schedule", choices=SCHEDULES, default=T.schedule,
                   help="scheduled sampling (none = teacher forcing)")
    o.add_argument("--ss-linear-slope", type=float, default=T.ss_linear_slope)
    o.add_argument("--ss-min-teacher", type=float, default=T.ss_min_teacher)
    o.add_argument("--ss-exp-base", type=float, default=T.ss_exp_base)
    o.add_argument("--ss-sigmoid-k", type=float, default=T.ss_sigmoid_k)
    o.add_argument("--threads", type=int, default=T.threads)
    o.add_argument("--resume", action="store_true", help="continue from --out/last.pt")
    add_run_args(t)
    add_output_args(t)
    t.set_defaults(func=train_command)
    m.add_argument("--max-source-len", type=int, default=M.max_source_len,
                   help="longest source (characters) the model accepts")
    m.add_argument("--max-target-len", type=int, default=M.max_target_len,
                   help="decoding stops after this many tokens")


def add_decode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="best.pt / last.pt, or a run directory holding best.pt")
    p.add_argument("--beam", type=int, default=D.beam_size, help="beam size (1 = greedy)")
    p.add_argument("--alpha", type=float, default=D.length_alpha, help="length normalisation")
    p.set_defaults(_fields={"beam_size": "beam", "length_alpha": "alpha",
                            "max_errors": "errors"})


def add_translate(ssub: argparse._SubParsersAction) -> None:
    t = ssub.add_parser("translate", help="normalise dates with a trained model")
    add_decode_args(t)
    t.add_argument("sources", nargs="*", help="source strings, e.g. 'March 14, 2024'")
    t.add_argument("--input", default=None, help="a file with one source per line")
    t.add_argument("--heatmap", default=None, help="write the attention heatmap (one source)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace an existing --heatmap file that seqlm wrote")
    add_output_args(t)
    t.set_defaults(func=translate_command)


def add_eval(ssub: argparse._SubParsersAction) -> None:
    e = ssub.add_parser("eval", help="exact match, per-character accuracy, errors")
    add_decode_args(e)
    e.add_argument("--tsv", default=None,
                   help="source<TAB>target lines (default: the dates test splits)")
    e.add_argument("--errors", type=int, default=Seq2SeqEvalConfig.max_errors,
                   help="errors listed")
    add_output_args(e)
    e.set_defaults(func=eval_command)


def train_config(args: argparse.Namespace) -> Seq2SeqConfig:
    return Seq2SeqConfig(
        corpus=CorpusConfig(name="dates", seed=args.seed, size=args.size),
        regimes=tuple(args.regimes), train_size=args.train_size,
        model=Seq2SeqModelConfig(
            cell=args.cell, attention=args.attention, input_feeding=not args.no_input_feeding,
            embedding_size=args.embedding_size, hidden_size=args.hidden_size,
            bidirectional=not args.unidirectional, attention_size=args.attention_size,
            max_source_len=args.max_source_len, max_target_len=args.max_target_len),
        train=Seq2SeqTrainConfig(
            steps=args.steps, batch_size=args.batch_size, clip=args.clip,
            lr_schedule=replace(T().lr_schedule, lr=args.lr, warmup_steps=args.warmup_steps,
                                decay=args.decay, min_lr_ratio=args.min_lr_ratio),
            eval_every=args.eval_every, eval_size=args.eval_size, seed=args.seed,
            schedule=args.schedule, ss_linear_slope=args.ss_linear_slope,
            ss_min_teacher=args.ss_min_teacher, ss_exp_base=args.ss_exp_base,
            ss_sigmoid_k=args.ss_sigmoid_k, threads=args.threads),
        out=args.out, overwrite=args.overwrite, resume=args.resume)


def train_command(args: argparse.Namespace) -> int:
    from seqlm.experiments.seq2seq_eval import format_summary
    from seqlm.experiments.seq2seq_train import run_training

    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run = run_training(train_config(args), argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    test = run.metrics["test"]
    text = [f"trained {run.metrics['steps']} steps; best valid exact match "
            f"{100 * run.metrics['best_valid_exact']:.2f}% at step {run.metrics['best_step']}"]
    text += [f"[{regime}] {format_summary(s)}" for regime, s in test.items()]
    text += [f"run: {run.path} (best.pt, last.pt, manifest.json)"]
    emit(args, {"run_dir": str(run.path), "metrics": run.metrics}, "\n".join(text))
    return 0


def load(args: argparse.Namespace):
    import torch

    from seqlm.training.seq2seq import load_model

    path = Path(args.checkpoint)
    path = path / "best.pt" if path.is_dir() else path
    if not path.is_file():
        raise SeqlmError(f"checkpoint {path} does not exist: give best.pt or its run directory")
    torch.set_num_threads(T.threads or torch.get_num_threads())
    return load_model(path)


def decode_config(args: argparse.Namespace) -> Seq2SeqDecodeConfig:
    return Seq2SeqDecodeConfig(beam_size=args.beam, length_alpha=args.alpha)


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
        from seqlm.experiments.overwrite import check_output_file

        if len(sources) != 1:
            raise SeqlmError(f"--heatmap draws one source, got {len(sources)}: translate them "
                             "one at a time")
        check_output_file(args.heatmap, args.overwrite, "--heatmap")
    model, vocabs, _ = load(args)
    found = translate(model, vocabs, sources, decode_config(args))
    payload = {"translations": [{"source": t.source, "output": t.output,
                                 "logprob_nats": t.logprob_nats} for t in found]}
    if args.heatmap is not None:
        from seqlm.experiments.seq2seq_plots import attention_heatmap

        payload["heatmap"] = str(attention_heatmap(found[0], args.heatmap))
    emit(args, payload, "\n".join(t.output for t in found))
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from seqlm.experiments.seq2seq_eval import evaluate, format_summary, read_tsv
    from seqlm.experiments.seq2seq_train import load_pairs

    model, vocabs, config = load(args)
    if args.tsv is not None:
        try:
            tests = {Path(args.tsv).name: read_tsv(Path(args.tsv).read_text(encoding="utf-8"),
                                                   args.tsv)}
        except FileNotFoundError:
            raise SeqlmError(f"test file {args.tsv} does not exist") from None
    else:
        tests = load_pairs(config).test
    eval_config = Seq2SeqEvalConfig(decode=decode_config(args), max_errors=args.errors)
    scores = {name: evaluate(model, vocabs, pairs, eval_config)[0]
              for name, pairs in tests.items()}
    text = []
    for name, s in scores.items():
        text += [f"[{name}] {format_summary(s)}", *[
            f"  {e['source']!r}: expected {e['target']!r}, got {e['output']!r}"
            for e in s["errors"]]]
    emit(args, {"scores": scores}, "\n".join(text))
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from seqlm.experiments.seq2seq_compare import run_compare

    config = Seq2SeqCompareConfig(preset=args.preset, seed=args.seed, out=args.out,
                                  overwrite=args.overwrite)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run = run_compare(config, argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    report = run.path / "report.md"
    emit(args, {"run_dir": str(run.path), "report": str(report), "metrics": run.metrics},
         report.read_text(encoding="utf-8") + f"\nreport: {report}")
    return 0

"""`seqlm ngram train | build | eval | sample | predict`: n-gram models from the command line;
`index | find | query | score | shrink` (the ∞-gram, entropy pruning) live in
`seqlm.cli.ngram_beyond`.

Each subcommand parses its flags, builds an `NgramConfig`, calls one function of
`seqlm.runs.ngram` and prints the result. `eval`, `sample` and `predict` take a
model from `--arpa FILE`, `--binary FILE`, or train one on the fly from `--corpus`. Nothing
here (or in `seqlm.ngram`) imports torch, and progress bars (tqdm) appear only once a step
has run for half a second, so short jobs never pay for them.
"""

import argparse

from seqlm.cli.bars import DelayedBars
from seqlm.cli.config_args import (
    add_alias,
    add_config_options,
    config_of,
    link_option,
    use_config,
)
from seqlm.cli.options import add_corpus_args, add_output_args, add_run_args, emit
from seqlm.config import NgramConfig, ngram_command

BEYOND_ACTIONS = ("index", "find", "query", "score", "shrink")  # seqlm.cli.ngram_beyond's actions


def register(sub: argparse._SubParsersAction, action: str | None = None) -> None:
    """`seqlm ngram` and its actions; with `action` (one of `ACTIONS`, named on the command
    line), that action's parser alone: `seqlm ngram train` builds one of ten (~12 ms)."""
    p = sub.add_parser("ngram", help="n-gram language models (KenLM-compatible)")
    nsub = p.add_subparsers(dest="ngram_command", metavar="ACTION", required=True)
    for name, add in ACTION_PARSERS.items():
        if action in (None, name):
            add(nsub)
    if action is None or action in BEYOND_ACTIONS:
        from seqlm.cli.ngram_beyond import register_beyond  # index | find | query | score | shrink

        register_beyond(nsub)


def add_train(nsub: argparse._SubParsersAction) -> None:
    train = nsub.add_parser("train", help="count, smooth, and write an ARPA file and/or a binary")
    train.add_argument("--arpa", default=None, help="where to write the ARPA file "
                       "(default: model.arpa in the run directory)")
    train.add_argument("--binary", default=None, help="also write a binary model here")
    train.add_argument("--text-file", default=None,
                       help="train on this whole UTF-8 file, read in pieces (like lmplz --text)")
    add_config_options(train.add_argument_group("scale (KenLM's lmplz options)"), ngram_command(),
                       names=("memory", "temp_dir", "prune", "engine", "train_threads",
                              "arpa_writer"))
    add_quantize_args(train)
    add_model_args(train, from_file=False)
    train.set_defaults(func=train_command)


def add_build(nsub: argparse._SubParsersAction) -> None:
    bd = nsub.add_parser("build", help="convert an ARPA file into a binary model")
    bd.add_argument("--arpa", required=True, help="the ARPA file to convert")
    bd.add_argument("--out", required=True, help="where to write the binary model")
    bd.add_argument("--overwrite", action="store_true",
                    help="replace an existing --out file that seqlm wrote")
    add_config_options(bd, ngram_command(), names=("unit",))
    add_quantize_args(bd)
    add_output_args(bd)
    use_config(bd, ngram_command())
    bd.set_defaults(func=build_command)


def add_eval(nsub: argparse._SubParsersAction) -> None:
    ev = nsub.add_parser("eval", help="perplexity of a text, including and excluding OOVs")
    add_model_args(ev)
    add_config_options(ev, ngram_command(), names=("split", "workers", "threads", "engine"))
    ev.add_argument("--text-file", default=None, help="score this UTF-8 file instead")
    ev.set_defaults(func=eval_command)


def add_sample(nsub: argparse._SubParsersAction) -> None:
    sm = nsub.add_parser("sample", help="sample sentences")
    add_model_args(sm)
    add_config_options(sm, ngram_command(), names=("samples", "temperature", "max_tokens",
                                                 "prefix"))
    sm.set_defaults(func=sample_command)


def add_predict(nsub: argparse._SubParsersAction) -> None:
    pr = nsub.add_parser("predict", help="the top-k next tokens after a context")
    pr.add_argument("context", help='the start of a sentence, e.g. "i work , you work , he"')
    add_config_options(pr, ngram_command(), names=("top_k",))
    pr.add_argument("--mid-sentence", action="store_true",
                    help="the context does not start a sentence (no <s> before it)")
    add_model_args(pr)
    pr.set_defaults(func=predict_command)


def add_quantize_args(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser.add_argument_group("binary model"), ngram_command(),
                       names=("prob_bits", "backoff_bits"))


def add_model_args(parser: argparse.ArgumentParser, from_file: bool = True) -> None:
    g = parser.add_argument_group("model")
    base = ngram_command()
    if from_file:
        g.add_argument("--arpa", default=None,
                       help="read the model from this ARPA file instead of training one")
        g.add_argument("--binary", default=None,
                       help="map the model from this binary file (seqlm ngram build)")
        add_config_options(g, base, names=("verify",))
    add_config_options(g, base, names=("order", "smoothing", "unit", "k", "alpha",
                                       "discount_fallback", "precision"))
    add_alias(g, "--kenlm-precision", "", "precision", "kenlm",
              help="= --precision kenlm: estimate and sum perplexities in float32 as lmplz "
                   "and query do (KenLM's numbers to the last bit)")
    add_corpus_args(parser, base.corpus)
    link_option(parser, "corpus", "seed", "seed")  # --seed: the corpus and the sampling
    add_run_args(parser)
    add_output_args(parser)
    use_config(parser, base)


def ngram_config(args: argparse.Namespace) -> NgramConfig:
    """The config of a command; an empty unit means the corpus's or the model file's own."""
    return config_of(args)



def model_source(args: argparse.Namespace):
    from seqlm.runs.ngram import ModelSource

    return ModelSource(arpa=args.arpa, binary=args.binary)


def train_command(args: argparse.Namespace) -> int:
    from seqlm.runs.ngram import train_run

    bars = DelayedBars(args)
    try:
        run, report, trained_on = train_run(ngram_config(args), args.out, args.overwrite,
                                            args.arpa, args.binary, args.text_file,
                                            progress=bars)
    finally:
        bars.close()
    info, config = report.info, run.config
    total = sum(report.seconds.values())
    lines = [f"{config.order}-gram {config.smoothing} model, unit {config.unit}, "
             f"trained on {trained_on} in {total:.2f} s",
             "n-grams     " + " / ".join(f"{n:,}" for n in info["counts"])]
    if "discounts" in info:
        lines += [f"discounts {k}  " + ", ".join(f"{d:.6g}" for d in ds)
                  + ("  (fallback)" if k in info["fallback_orders"] else "")
                  for k, ds in enumerate(info["discounts"], 1)]
    lines.append(f"engine      {info['engine']}")
    lines.append(f"ARPA file   {report.arpa or '(none: not an ARPA-writable smoothing)'}")
    if report.binary:
        lines.append(f"binary      {report.binary}")
    if config.memory:
        mib = {k: v / 2**20 for k, v in report.memory.items() if k.endswith("bytes") and v}
        lines.append(f"memory      budget {config.memory}, peak RSS {mib['peak_rss_bytes']:.0f} "
                     f"MiB, spilled {mib.get('spilled_bytes', 0):.0f} MiB")
    lines.append(f"run         {run.path}")
    emit(args, {"run": str(run.path), "arpa": report.arpa, "binary": report.binary, **info,
                "seconds": round(total, 4), "memory": report.memory}, "\n".join(lines))
    return 0


def build_command(args: argparse.Namespace) -> int:
    from seqlm.runs.ngram import build_binary

    config = ngram_config(args)
    bars = DelayedBars(args)
    try:
        out = build_binary(args.arpa, args.out, config, progress=bars,
                           overwrite=args.overwrite)
    finally:
        bars.close()
    bits = ", ".join(f"{kind} {b} bits" for kind, b in (("prob", config.prob_bits),
                                                        ("backoff", config.backoff_bits)) if b)
    text = "\n".join([
        f"{out['order']}-gram binary model ({out['unit']}) from {out['arpa']}: {out['binary']}",
        "n-grams     " + " / ".join(f"{n:,}" for n in out["counts"]),
        f"size        {out['bytes'] / 2**20:.1f} MiB ({bits or 'float32 values'})",
        f"read ARPA {out['read_arpa_s']:.2f} s, wrote {out['write_binary_s']:.2f} s, "
        f"loads in {out['load_s'] * 1000:.1f} ms"])
    emit(args, out, text)
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from seqlm.runs.ngram import eval_run

    config = ngram_config(args)
    run, r, model, source = eval_run(config, model_source(args), config.split, args.text_file,
                                     args.out, args.overwrite)
    text_out = "\n".join([
        f"{model.order}-gram {model.smoothing} ({model.unit}) on {source}",
        f"Perplexity including OOVs:  {r.perplexity:.4f}",
        f"Perplexity excluding OOVs:  {r.perplexity_excluding_oov:.4f}",
        f"OOVs: {r.oovs:,}   Tokens: {r.tokens:,}   Sentences: {r.sentences:,}",
        f"run {run.path}"])
    emit(args, {"run": str(run.path), "scored": source, **r.to_dict()}, text_out)
    return 0


def sample_command(args: argparse.Namespace) -> int:
    from seqlm.runs.ngram import sample_run

    config = ngram_config(args)
    run, sentences, _ = sample_run(config, model_source(args), config.prefix, args.out,
                                   args.overwrite)
    emit(args, {"run": str(run.path), "samples": sentences}, "\n".join(sentences))
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from seqlm.runs.ngram import predict_run

    run, context, best, model = predict_run(ngram_config(args), model_source(args), args.context,
                                            args.mid_sentence, args.out, args.overwrite)
    kind = "score" if model.smoothing == "stupid" else "p"
    text = "\n".join(f"{t!r:>16}  {kind}={p:.4f}" for t, p in best)
    emit(args, {"run": str(run.path), "context": context,
                "top_k": [{"token": t, kind: p} for t, p in best]}, text)
    return 0


ACTION_PARSERS = {"train": add_train, "build": add_build, "eval": add_eval,
                  "sample": add_sample, "predict": add_predict}
ACTIONS = (*ACTION_PARSERS, *BEYOND_ACTIONS)  # in `seqlm ngram --help`'s order

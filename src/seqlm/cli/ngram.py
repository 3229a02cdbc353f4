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
from seqlm.cli.options import add_corpus_args, add_output_args, add_run_args, corpus_config, emit
from seqlm.config import NgramConfig

SMOOTHINGS = NgramConfig.__dataclass_fields__["smoothing"].metadata["choices"]  # one list
ENGINES = ("auto", "numpy", "numba")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ngram", help="n-gram language models (KenLM-compatible)")
    nsub = p.add_subparsers(dest="ngram_command", metavar="ACTION", required=True)

    train = nsub.add_parser("train", help="count, smooth, and write an ARPA file and/or a binary")
    train.add_argument("--arpa", default=None, help="where to write the ARPA file "
                       "(default: model.arpa in the run directory)")
    train.add_argument("--binary", default=None, help="also write a binary model here")
    train.add_argument("--text-file", default=None,
                       help="train on this whole UTF-8 file, read in pieces (like lmplz --text)")
    g = train.add_argument_group("scale (KenLM's lmplz options)")
    g.add_argument("--memory", default=NgramConfig.memory, metavar="SIZE",
                   help="memory budget in lmplz -S units (500M, 2G, 80%%): counts are sorted in "
                        "runs that spill to disk (default: everything in memory)")
    g.add_argument("--temp-dir", default=NgramConfig.temp_dir, metavar="DIR",
                   help="where spill files go (default: the system's temp folder)")
    g.add_argument("--prune", type=int, nargs="+", default=list(NgramConfig.prune), metavar="T",
                   help="lmplz --prune: drop n-grams of order k whose raw count is <= T_k "
                        "(non-decreasing, unigrams 0), e.g. --prune 0 1 1")
    g.add_argument("--engine", choices=ENGINES, default=NgramConfig.engine,
                   help="numpy (the reference) or numba (compiled, byte-identical files); auto: "
                        f"numba from {NgramConfig.compiled_min_tokens:,} tokens on")
    add_quantize_args(train)
    add_model_args(train, from_file=False)
    train.set_defaults(func=train_command)

    bd = nsub.add_parser("build", help="convert an ARPA file into a binary model")
    bd.add_argument("--arpa", required=True, help="the ARPA file to convert")
    bd.add_argument("--out", required=True, help="where to write the binary model")
    bd.add_argument("--overwrite", action="store_true",
                    help="replace an existing --out file that seqlm wrote")
    bd.add_argument("--unit", choices=["word", "char", "byte"], default=None,
                    help="token unit (default: the ARPA file's, else word)")
    add_quantize_args(bd)
    add_output_args(bd)
    bd.set_defaults(func=build_command)

    ev = nsub.add_parser("eval", help="perplexity of a text, including and excluding OOVs")
    add_model_args(ev)
    ev.add_argument("--split", default="valid", help="which split of --corpus to score")
    ev.add_argument("--text-file", default=None, help="score this UTF-8 file instead")
    ev.add_argument("--workers", type=int, default=NgramConfig.workers, metavar="N",
                    help="score the text's 4M-character pieces in N processes (the same "
                         "result as one process)")
    ev.add_argument("--engine", choices=ENGINES, default=NgramConfig.engine,
                    help="who finds the held n-grams: numpy or numba (compiled, same result); "
                         f"auto: numba from {NgramConfig.compiled_min_chars:,} characters on")
    ev.set_defaults(func=eval_command)

    sm = nsub.add_parser("sample", help="sample sentences")
    add_model_args(sm)
    sm.add_argument("--samples", type=int, default=NgramConfig.samples)
    sm.add_argument("--temperature", type=float, default=NgramConfig.temperature,
                    help="1 samples the model as it is; 0 is greedy (the most likely token)")
    sm.add_argument("--max-tokens", type=int, default=NgramConfig.max_tokens)
    sm.add_argument("--prefix", default="", help="start every sentence with this text")
    sm.set_defaults(func=sample_command)

    pr = nsub.add_parser("predict", help="the top-k next tokens after a context")
    pr.add_argument("context", help='the start of a sentence, e.g. "i work , you work , he"')
    pr.add_argument("--top-k", type=int, default=NgramConfig.top_k)
    pr.add_argument("--mid-sentence", action="store_true",
                    help="the context does not start a sentence (no <s> before it)")
    add_model_args(pr)
    pr.set_defaults(func=predict_command)
    from seqlm.cli.ngram_beyond import register_beyond  # index | find | query | score | shrink

    register_beyond(nsub)


def add_quantize_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("binary model")
    g.add_argument("--prob-bits", type=int, default=NgramConfig.prob_bits, metavar="B",
                   help="quantise log10 probabilities to 2**B values (build_binary -q; "
                        "default 0: float32)")
    g.add_argument("--backoff-bits", type=int, default=NgramConfig.backoff_bits, metavar="B",
                   help="quantise log10 backoffs to 2**B values (build_binary -b)")


def add_model_args(parser: argparse.ArgumentParser, from_file: bool = True) -> None:
    g = parser.add_argument_group("model")
    if from_file:
        g.add_argument("--arpa", default=None,
                       help="read the model from this ARPA file instead of training one")
        g.add_argument("--binary", default=None,
                       help="map the model from this binary file (seqlm ngram build)")
        g.add_argument("--verify", action="store_true",
                       help="check the checksum of every table of --binary on load (files up to "
                            "64 MiB always are; larger ones load unverified in milliseconds)")
    g.add_argument("--order", type=int, default=NgramConfig.order, help="n-gram order, 1 to 8")
    g.add_argument("--smoothing", choices=SMOOTHINGS, default=NgramConfig.smoothing)
    g.add_argument("--unit", choices=["word", "char", "byte"], default=None,
                   help="token unit (default: the corpus' own, or the model file's)")
    g.add_argument("--k", type=float, default=NgramConfig.k, help="add-k: the added count")
    g.add_argument("--alpha", type=float, default=NgramConfig.alpha, help="stupid backoff")
    g.add_argument("--no-discount-fallback", action="store_true",
                   help="kn/mkn: fail on unusable discounts instead of using 0.5, 1, 1.5")
    g.add_argument("--kenlm-precision", action="store_true",
                   help="estimate and sum perplexities in float32 as lmplz and query do "
                        "(KenLM's numbers to the last bit)")
    add_corpus_args(parser)
    add_run_args(parser)
    add_output_args(parser)


def ngram_config(args: argparse.Namespace) -> NgramConfig:
    """The config of a command; an empty unit means the corpus's or the model file's own."""
    return NgramConfig(
        order=getattr(args, "order", NgramConfig.order),
        smoothing=getattr(args, "smoothing", NgramConfig.smoothing), unit=args.unit or "",
        k=getattr(args, "k", NgramConfig.k), alpha=getattr(args, "alpha", NgramConfig.alpha),
        discount_fallback=not getattr(args, "no_discount_fallback", False),
        corpus=corpus_config(args) if hasattr(args, "corpus") else NgramConfig().corpus,
        seed=getattr(args, "seed", NgramConfig.seed),
        temperature=getattr(args, "temperature", NgramConfig.temperature),
        samples=getattr(args, "samples", NgramConfig.samples),
        max_tokens=getattr(args, "max_tokens", NgramConfig.max_tokens),
        top_k=getattr(args, "top_k", NgramConfig.top_k),
        precision="kenlm" if getattr(args, "kenlm_precision", False) else NgramConfig.precision,
        memory=getattr(args, "memory", NgramConfig.memory),
        temp_dir=getattr(args, "temp_dir", NgramConfig.temp_dir),
        prune=tuple(getattr(args, "prune", NgramConfig.prune)),
        prob_bits=args.prob_bits if hasattr(args, "prob_bits") else NgramConfig.prob_bits,
        backoff_bits=getattr(args, "backoff_bits", NgramConfig.backoff_bits),
        verify=getattr(args, "verify", NgramConfig.verify),
        engine=getattr(args, "engine", NgramConfig.engine),
        workers=getattr(args, "workers", NgramConfig.workers),
    )



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

    bars = DelayedBars(args)
    try:
        out = build_binary(args.arpa, args.out, ngram_config(args), progress=bars,
                           overwrite=args.overwrite)
    finally:
        bars.close()
    bits = ", ".join(f"{kind} {args.prob_bits if kind == 'prob' else args.backoff_bits} bits"
                     for kind in ("prob", "backoff")
                     if (args.prob_bits if kind == "prob" else args.backoff_bits))
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

    run, r, model, source = eval_run(ngram_config(args), model_source(args), args.split,
                                     args.text_file, args.out, args.overwrite)
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

    run, sentences, _ = sample_run(ngram_config(args), model_source(args), args.prefix,
                                   args.out, args.overwrite)
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


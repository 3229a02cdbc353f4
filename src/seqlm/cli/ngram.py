"""`seqlm ngram train | eval | sample | predict`: n-gram models from the command line.

Each subcommand builds an `NgramConfig`, calls `seqlm.ngram`, and writes a run directory with
a manifest. `eval`, `sample` and `predict` take a model from `--arpa FILE` or train one on the
fly from `--corpus`. Nothing here (or in `seqlm.ngram`) imports torch.
"""

import argparse
import time

from seqlm.cli.options import add_corpus_args, add_output_args, add_run_args, corpus_config, emit
from seqlm.config import NgramConfig

SMOOTHINGS = ("mle", "addk", "kn", "mkn", "stupid")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ngram", help="n-gram language models (KenLM-compatible)")
    nsub = p.add_subparsers(dest="ngram_command", metavar="ACTION", required=True)

    train = nsub.add_parser("train", help="count, smooth, and write an ARPA file")
    train.add_argument("--arpa", default=None, help="where to write the ARPA file "
                       "(default: model.arpa in the run directory)")
    add_model_args(train, from_arpa=False)
    train.set_defaults(func=train_command)

    ev = nsub.add_parser("eval", help="perplexity of a text, including and excluding OOVs")
    add_model_args(ev)
    ev.add_argument("--split", default="valid", help="which split of --corpus to score")
    ev.add_argument("--text-file", default=None, help="score this UTF-8 file instead")
    ev.set_defaults(func=eval_command)

    sm = nsub.add_parser("sample", help="sample sentences")
    add_model_args(sm)
    sm.add_argument("--samples", type=int, default=NgramConfig.samples)
    sm.add_argument("--temperature", type=float, default=NgramConfig.temperature)
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


def add_model_args(parser: argparse.ArgumentParser, from_arpa: bool = True) -> None:
    g = parser.add_argument_group("model")
    if from_arpa:
        g.add_argument("--arpa", default=None,
                       help="read the model from this ARPA file instead of training one")
    g.add_argument("--order", type=int, default=NgramConfig.order, help="n-gram order, 1 to 8")
    g.add_argument("--smoothing", choices=SMOOTHINGS, default=NgramConfig.smoothing)
    g.add_argument("--unit", choices=["word", "char", "byte"], default=None,
                   help="token unit (default: the corpus' own, or the ARPA file's)")
    g.add_argument("--k", type=float, default=NgramConfig.k, help="add-k: the added count")
    g.add_argument("--alpha", type=float, default=NgramConfig.alpha, help="stupid backoff")
    g.add_argument("--no-discount-fallback", action="store_true",
                   help="kn/mkn: fail on unusable discounts instead of using 0.5, 1, 1.5")
    g.add_argument("--kenlm-precision", action="store_true",
                   help="estimate and sum perplexities in float32 as lmplz and query do "
                        "(KenLM's numbers to the last printed digit)")
    add_corpus_args(parser)
    add_run_args(parser)
    add_output_args(parser)


def ngram_config(args: argparse.Namespace, unit: str) -> NgramConfig:
    return NgramConfig(
        order=args.order, smoothing=args.smoothing, unit=unit, k=args.k, alpha=args.alpha,
        discount_fallback=not args.no_discount_fallback, corpus=corpus_config(args),
        seed=args.seed, temperature=getattr(args, "temperature", NgramConfig.temperature),
        samples=getattr(args, "samples", NgramConfig.samples),
        max_tokens=getattr(args, "max_tokens", NgramConfig.max_tokens),
        top_k=getattr(args, "top_k", NgramConfig.top_k),
        precision="kenlm" if args.kenlm_precision else NgramConfig.precision,
    )


def load_model(args: argparse.Namespace, run, need_corpus: bool):
    """(model, corpus or None, config): from --arpa, or trained on --corpus's train split."""
    from seqlm.data.corpora import load_corpus
    from seqlm.ngram import fit, read_arpa

    corpus = load_corpus(corpus_config(args)) if need_corpus or not args.arpa else None
    if args.arpa:
        with run.timer("read_arpa"):
            model = read_arpa(args.arpa, unit=args.unit,
                              precision="kenlm" if args.kenlm_precision else "double")
        run.extra["model"] = {"arpa": str(args.arpa), "order": model.order, "unit": model.unit,
                              "smoothing": model.smoothing, "counts": model.sizes()}
    else:
        with run.timer("train"):
            model = fit(corpus.text("train"), ngram_config(args, args.unit or corpus.default_unit))
        run.extra["model"] = {"trained_on": "train", **model.info}
    if corpus is not None:
        run.data[corpus.name] = corpus.identity()
    return model, corpus


def start_run(args: argparse.Namespace, command: str):
    from seqlm.experiments.run import Run

    unit = args.unit or "word"
    return Run(f"ngram {command}", ngram_config(args, unit), out=args.out,
               overwrite=args.overwrite)


def train_command(args: argparse.Namespace) -> int:
    from seqlm.data.corpora import load_corpus
    from seqlm.experiments.overwrite import check_output_file
    from seqlm.ngram import fit_counts, write_arpa
    from seqlm.ngram.fit import count_text

    started = time.perf_counter()
    if args.arpa:
        check_output_file(args.arpa, args.overwrite, "--arpa")
    with start_run(args, "train") as run:
        corpus = load_corpus(corpus_config(args))
        config = ngram_config(args, args.unit or corpus.default_unit)
        run.config = config
        run.data[corpus.name] = corpus.identity()
        with run.timer("count"):
            counts = count_text(corpus.text("train"), config)
        with run.timer("estimate"):
            model = fit_counts(counts, config)
        path = args.arpa or run.artifact("arpa", "model.arpa")
        if model.form == "backoff" or args.arpa:
            with run.timer("write_arpa"):
                write_arpa(model, path)
            run.extra["arpa"] = str(path)
        else:
            run.artifacts.pop("arpa", None)
        run.metrics.update(model.info)
        run.timings["total"] = round(time.perf_counter() - started, 4)
    info = model.info
    lines = [f"{config.order}-gram {config.smoothing} model, unit {config.unit}, "
             f"trained on {corpus.name} in {run.timings['total']:.2f} s",
             "n-grams     " + " / ".join(f"{n:,}" for n in info["counts"])]
    if "discounts" in info:
        lines += [f"discounts {k}  " + ", ".join(f"{d:.6g}" for d in ds)
                  + ("  (fallback)" if k in info["fallback_orders"] else "")
                  for k, ds in enumerate(info["discounts"], 1)]
    lines.append(f"ARPA file   {run.extra.get('arpa', '(none: not an ARPA-writable smoothing)')}")
    lines.append(f"run         {run.path}")
    emit(args, {"run": str(run.path), "arpa": run.extra.get("arpa"), **info,
                "seconds": run.timings["total"]}, "\n".join(lines))
    return 0


def eval_command(args: argparse.Namespace) -> int:
    with start_run(args, "eval") as run:
        model, corpus = load_model(args, run, need_corpus=args.text_file is None)
        if args.text_file:
            from pathlib import Path

            from seqlm.data.corpora.text import read_text_path

            text, source = read_text_path(Path(args.text_file)), args.text_file
        else:
            text, source = corpus.text(args.split), f"{corpus.name} {args.split}"
        with run.timer("score"):
            report = model.perplexity(text)
        run.metrics.update(report.to_dict())
        run.extra["scored"] = source
    r = report
    text_out = "\n".join([
        f"{model.order}-gram {model.smoothing} ({model.unit}) on {source}",
        f"Perplexity including OOVs:  {r.perplexity:.4f}",
        f"Perplexity excluding OOVs:  {r.perplexity_excluding_oov:.4f}",
        f"OOVs: {r.oovs:,}   Tokens: {r.tokens:,}   Sentences: {r.sentences:,}",
        f"run {run.path}"])
    emit(args, {"run": str(run.path), "scored": source, **r.to_dict()}, text_out)
    return 0


def sample_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.sampling import sample

    with start_run(args, "sample") as run:
        model, _ = load_model(args, run, need_corpus=False)
        sentences = sample(model, args.samples, args.seed, args.temperature, args.max_tokens,
                           args.prefix)
        run.metrics["samples"] = sentences
    emit(args, {"run": str(run.path), "samples": sentences}, "\n".join(sentences))
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.stream import BOS, split_line

    with start_run(args, "predict") as run:
        model, _ = load_model(args, run, need_corpus=False)
        context = ([] if args.mid_sentence else [BOS]) + split_line(args.context, model.unit)
        best = model.top_k(context, args.top_k)
        run.metrics["context"] = context
        run.metrics["top_k"] = [{"token": t, "p": p} for t, p in best]
    kind = "score" if model.smoothing == "stupid" else "p"
    text = "\n".join(f"{t!r:>16}  {kind}={p:.4f}" for t, p in best)
    emit(args, {"run": str(run.path), "context": context,
                "top_k": [{"token": t, kind: p} for t, p in best]}, text)
    return 0

"""`seqlm mix`: linear interpolation of language models that score the same units.

Parses the models and options, builds a `MixConfig`, calls `seqlm.lab.mix` and
prints each model's and the mixture's nats, bits and perplexity per token on the test split,
with the EM weights fitted on the dev split. `--write-arpa` also writes the n-gram models'
static mixture as one ARPA file.
"""

import argparse

from seqlm.cli.config_args import add_alias, add_config_options, config_of, use_config
from seqlm.cli.options import add_corpus_args, add_output_args, emit
from seqlm.config import MixConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mix", help="interpolate n-gram, ∞-gram and neural models; EM weights")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="arpa:PATH, binary:PATH, index:PATH (∞-gram), smoothed:PATH (the ∞-gram "
                        "smoothed over every suffix length) or run:DIR (neural)")
    p.add_argument("--weights", type=float, nargs="+", default=None,
                   help="fixed weights, one per model, summing to 1 (default: EM on dev)")
    base = MixConfig()
    add_config_options(p, base, names=("dev_split", "test_split", "iterations", "by_context",
                                       "min_counts", "device"))
    add_alias(p, "--one-weight-set", "", "by_context", False,
              help="one set of weights for every token, not one per ∞-gram context bucket "
                   "(= --no-by-context)")
    p.add_argument("--dev-file", default=None, help="a UTF-8 file as the dev text instead")
    p.add_argument("--test-file", default=None, help="a UTF-8 file as the test text instead")
    p.add_argument("--write-arpa", default=None, metavar="OUT",
                   help="also write the n-gram models' static mixture (SRILM -mix-lm) here")
    add_corpus_args(p, base.corpus)
    add_output_args(p)
    use_config(p, base)
    p.set_defaults(func=mix_command)


def read(path: str | None) -> str | None:
    if path is None:
        return None
    from pathlib import Path

    from seqlm.data.corpora.text import read_text_file

    return read_text_file(Path(path))


def mix_command(args: argparse.Namespace) -> int:
    from seqlm.lab.mix import check_static, mix, write_static_mix

    if args.write_arpa:
        check_static(args.models)
    config = config_of(args)
    report = mix(args.models, config, args.weights, read(args.dev_file), read(args.test_file),
                 config.device)
    out = report.to_dict()
    if args.write_arpa:
        out["static"] = write_static_mix(args.models, report.weights, args.write_arpa)
    rows = [*zip(report.names, report.components, strict=True), ("mixture", report.mixture)]
    lines = [f"{'model':<24} {'weight':>7} {'nats':>8} {'bits':>8} {'ppl':>10}  p=0"]
    for (name, score), w in zip(rows, [*report.weights, 1.0], strict=True):
        d = score.to_dict()
        lines.append(f"{name:<24} {w:>7.4f} {d['nats_per_token']:>8.4f} "
                     f"{d['bits_per_token']:>8.4f} {d['perplexity']:>10.3f}  {d['zero_tokens']}")
    lines.append(f"{report.mixture.tokens:,} test tokens"
                 + (f" ({report.skipped_tokens} not scored by every model)"
                    if report.skipped_tokens else "")
                 + (f"; EM: {len(report.dev_nats) - 1} steps, dev nats "
                    f"{report.dev_nats[0]:.4f} -> {report.dev_nats[-1]:.4f}"
                    if report.dev_nats else "; weights given"))
    if report.bucket_weights:
        lines.append(f"weights per ∞-gram context bucket: {len(report.bucket_weights)} buckets "
                     f"fitted (dev nats {report.dev_nats_bucketed:.4f}); the table above shows "
                     "the global weights, --json every bucket's")
    if args.write_arpa:
        counts = " / ".join(f"{n:,}" for n in out["static"]["counts"])
        lines.append(f"static mixture: {args.write_arpa} ({counts} n-grams)")
    emit(args, out, "\n".join(lines))
    return 0

"""`seqlm ngram index | find | query | score | shrink`: the ∞-gram over a suffix index and
Stolcke's entropy pruning (issue 27), registered into `seqlm ngram` by `seqlm.cli.ngram`.

Each handler parses its flags, builds an `InfiniGramConfig` or `EntropyPruneConfig`, and calls
one library function (`seqlm.ngram.documents.build_corpus_index`, `seqlm.ngram.infinigram`,
`seqlm.ngram.entropy_prune`); nothing here imports torch.
"""

import argparse

from seqlm.cli.bars import DelayedBars
from seqlm.cli.config_args import add_config_options, config_of, use_config
from seqlm.cli.options import add_corpus_args, add_output_args, emit


def register_beyond(nsub: argparse._SubParsersAction) -> None:
    from seqlm.config import EntropyPruneConfig, InfiniGramConfig

    base = InfiniGramConfig()
    ix = nsub.add_parser("index", help="∞-gram: a corpus's suffix array, written to one file")
    ix.add_argument("--out", required=True, metavar="IDX", help="the index file to write")
    ix.add_argument("--overwrite", action="store_true", help="replace an existing IDX")
    add_config_options(ix, base, names=("unit", "split", "documents"))
    add_corpus_args(ix, base.corpus)
    add_output_args(ix)
    use_config(ix, base)
    ix.set_defaults(func=index_command)

    fd = nsub.add_parser("find", help="∞-gram: where a string occurs in the indexed corpus")
    fd.add_argument("index", metavar="IDX")
    fd.add_argument("text", metavar="TEXT")
    add_config_options(fd, base, names=("around", "limit"))
    add_output_args(fd)
    use_config(fd, base)
    fd.set_defaults(func=find_command)

    qu = nsub.add_parser("query", help="∞-gram: count of a context, the suffix used and the "
                         "next-token distribution")
    qu.add_argument("index", metavar="IDX")
    qu.add_argument("context", metavar="CONTEXT")
    add_config_options(qu, base, names=("top_k",))
    add_output_args(qu)
    use_config(qu, base)
    qu.set_defaults(func=query_command)

    sc = nsub.add_parser("score", help="∞-gram: nats per token of a text, share of p = 0")
    sc.add_argument("index", metavar="IDX")
    sc.add_argument("--text-file", default=None, help="score this UTF-8 file")
    add_config_options(sc, base, names=("score_split",), flags={"score_split": "--split"})
    add_corpus_args(sc, base.corpus)
    add_output_args(sc)
    use_config(sc, base)
    sc.set_defaults(func=score_command)

    sh = nsub.add_parser("shrink", help="Stolcke's relative-entropy pruning of a kn/mkn model")
    src = sh.add_mutually_exclusive_group(required=True)
    src.add_argument("--arpa", default=None, help="the model to prune, as ARPA")
    src.add_argument("--binary", default=None, help="the model to prune, as a binary model")
    add_config_options(sh.add_mutually_exclusive_group(required=True), EntropyPruneConfig(),
                       names=("threshold", "target_ngrams"),
                       flags={"threshold": "--prune-entropy"})
    add_config_options(sh, EntropyPruneConfig(), names=("min_order", "prune"))
    add_corpus_args(sh, EntropyPruneConfig().corpus)
    sh.add_argument("--text-file", default=None, help="with --prune: the model's training "
                    "text as a UTF-8 file (else the corpus's train split)")
    sh.add_argument("--out", required=True, help="the pruned ARPA file to write")
    sh.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_output_args(sh)
    use_config(sh, EntropyPruneConfig())
    sh.set_defaults(func=shrink_command)


def index_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.documents import build_corpus_index

    bars = DelayedBars(args)
    try:
        out, _ = build_corpus_index(config_of(args), args.out, args.overwrite, bars)
    finally:
        bars.close()
    emit(args, out, f"{out['unit']} index of {out['tokens']:,} tokens in {out['documents']:,} "
         f"documents ({out['token_dtype']} ids): {out['index']}\n"
         f"{out['bytes'] / 2**20:.1f} MiB, {out['bytes_per_token']:.2f} bytes per token, "
         f"built in {out['build_s']:.2f} s")
    return 0


def find_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.infinigram import InfiniGram

    config = config_of(args)
    n, hits = InfiniGram(args.index).find(args.text, config.around, config.limit)
    lines = [f"{n:,} occurrences"] + [
        f"doc {h.document} @{h.position}: {h.left!r} [{h.match!r}] {h.right!r}" for h in hits]
    emit(args, {"count": n, "hits": [vars(h) for h in hits]}, "\n".join(lines))
    return 0


def query_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.infinigram import InfiniGram

    g = InfiniGram(args.index)
    d = g.distribution(args.context)
    best = sorted(zip(d.probs.tolist(), d.ids.tolist(), d.counts.tolist(), strict=True),
                  key=lambda t: (-t[0], t[1]))[:config_of(args).top_k]
    top = [{"token": g.decode([i]), "p": p, "count": c} for p, i, c in best]
    text = "\n".join([f"count {g.count(args.context):,}; longest suffix followed by a token: "
                      f"{d.suffix_length} tokens, {d.total:,} times"]
                     + [f"{t['token']!r:>16}  p={t['p']:.4f}  ({t['count']:,})" for t in top])
    emit(args, {"count": g.count(args.context), "suffix_length": d.suffix_length,
                "total": d.total, "top_k": top}, text)
    return 0


def score_command(args: argparse.Namespace) -> int:
    from seqlm.data.corpora import load_corpus
    from seqlm.ngram.infinigram import InfiniGram

    g = InfiniGram(args.index)
    if args.text_file:
        from pathlib import Path

        from seqlm.data.corpora.text import read_text_file

        text, source = read_text_file(Path(args.text_file)), args.text_file
    else:
        config = config_of(args)
        text, source = load_corpus(config.corpus).text(config.score_split), config.score_split
    s = g.score(text)
    emit(args, {"scored": source, **s.to_dict()},
         f"∞-gram ({g.unit}) on {source}: {s.tokens:,} tokens, {s.zero_share:.2%} with p = 0; "
         f"{s.nats_per_token:.4f} nats per token over the rest; mean suffix "
         f"{s.mean_suffix_length:.1f} tokens")
    return 0


def cutoff_counts(args: argparse.Namespace, config, model) -> list:
    """The raw counts of the model's n-grams in its training text (`--text-file`, else the
    corpus's train split), for `--prune`."""
    from pathlib import Path

    from seqlm.ngram.training_counts import training_counts

    if args.text_file:
        if not Path(args.text_file).is_file():
            from seqlm.errors import SeqlmError

            raise SeqlmError(f"{args.text_file} is not a file: give --text-file the UTF-8 text "
                             "the model was trained on")
        return training_counts(model, Path(args.text_file))
    from seqlm.data.corpora import load_corpus

    return training_counts(model, load_corpus(config.corpus).text("train"))


def shrink_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seqlm.errors import SeqlmError
    from seqlm.ngram import read_arpa
    from seqlm.ngram.arpa import write_arpa
    from seqlm.ngram.binary import load_binary
    from seqlm.ngram.entropy_prune import prune_entropy

    config = config_of(args)
    if Path(args.out).exists() and not args.overwrite:
        raise SeqlmError(f"{args.out} exists: pass --overwrite to replace it")
    source = args.arpa or args.binary
    if not Path(source).is_file():
        raise SeqlmError(f"no model file at {source}: train one with `seqlm ngram train`")
    model = read_arpa(args.arpa) if args.arpa else load_binary(args.binary)
    counts = cutoff_counts(args, config, model) if any(config.prune) else None
    pruned = prune_entropy(model, config.threshold, config.target_ngrams, config.min_order,
                           config.prune, counts)
    write_arpa(pruned, args.out)
    before, after = model.sizes(), pruned.sizes()
    emit(args, {"arpa": args.out, "counts_before": before, "counts": after,
                "threshold": config.threshold, "target_ngrams": config.target_ngrams,
                "min_order": config.min_order, "prune": list(config.prune)},
         f"{sum(before):,} -> {sum(after):,} n-grams ("
         + " / ".join(f"{n:,}" for n in after) + f"): {args.out}")
    return 0

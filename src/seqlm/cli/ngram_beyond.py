"""`seqlm ngram index | find | query | score | shrink`: the ∞-gram over a suffix index and
Stolcke's entropy pruning (issue 27), registered into `seqlm ngram` by `seqlm.cli.ngram`.

Each handler parses its flags, builds an `InfiniGramConfig` or `EntropyPruneConfig`, and calls
one library function (`seqlm.ngram.documents.build_corpus_index`, `seqlm.ngram.infinigram`,
`seqlm.ngram.entropy_prune`); nothing here imports torch.
"""

import argparse

from seqlm.cli.bars import DelayedBars
from seqlm.cli.options import add_corpus_args, add_output_args, corpus_config, emit


def register_beyond(nsub: argparse._SubParsersAction) -> None:
    from seqlm.config import InfiniGramConfig as C

    ix = nsub.add_parser("index", help="∞-gram: a corpus's suffix array, written to one file")
    ix.add_argument("--out", required=True, metavar="IDX", help="the index file to write")
    ix.add_argument("--overwrite", action="store_true", help="replace an existing IDX")
    ix.add_argument("--unit", choices=["byte", "char", "word"], default=None,
                    help="token unit (default: the corpus's own)")
    ix.add_argument("--split", default=C.split, choices=["train", "valid", "test"])
    ix.add_argument("--documents", choices=["files", "paragraphs", "lines", "split"],
                    default=None, help="where documents end, so no match crosses one "
                    "(default: files for python-stdlib and file: corpora, else the split)")
    add_corpus_args(ix)
    add_output_args(ix)
    ix.set_defaults(func=index_command)

    fd = nsub.add_parser("find", help="∞-gram: where a string occurs in the indexed corpus")
    fd.add_argument("index", metavar="IDX")
    fd.add_argument("text", metavar="TEXT")
    fd.add_argument("--around", type=int, default=C.around, help="tokens shown on each side")
    fd.add_argument("--limit", type=int, default=C.limit, help="occurrences listed")
    add_output_args(fd)
    fd.set_defaults(func=find_command)

    qu = nsub.add_parser("query", help="∞-gram: count of a context, the suffix used and the "
                         "next-token distribution")
    qu.add_argument("index", metavar="IDX")
    qu.add_argument("context", metavar="CONTEXT")
    qu.add_argument("--top-k", type=int, default=C.top_k)
    add_output_args(qu)
    qu.set_defaults(func=query_command)

    sc = nsub.add_parser("score", help="∞-gram: nats per token of a text, share of p = 0")
    sc.add_argument("index", metavar="IDX")
    sc.add_argument("--text-file", default=None, help="score this UTF-8 file")
    sc.add_argument("--split", default="valid", help="else this split of --corpus")
    add_corpus_args(sc)
    add_output_args(sc)
    sc.set_defaults(func=score_command)

    sh = nsub.add_parser("shrink", help="Stolcke's relative-entropy pruning of a kn/mkn model")
    src = sh.add_mutually_exclusive_group(required=True)
    src.add_argument("--arpa", default=None, help="the model to prune, as ARPA")
    src.add_argument("--binary", default=None, help="the model to prune, as a binary model")
    how = sh.add_mutually_exclusive_group(required=True)
    how.add_argument("--prune-entropy", type=float, default=None, metavar="THETA",
                     help="prune n-grams that raise perplexity by less than THETA (relative), "
                          "e.g. 1e-7 (SRILM's -prune)")
    how.add_argument("--target-ngrams", type=int, default=None, metavar="N",
                     help="prune the least useful n-grams until N remain in all orders")
    sh.add_argument("--out", required=True, help="the pruned ARPA file to write")
    sh.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_output_args(sh)
    sh.set_defaults(func=shrink_command)


def infinigram_config(args: argparse.Namespace):
    from seqlm.config import InfiniGramConfig

    return InfiniGramConfig(unit=args.unit or "", split=args.split,
                            documents=args.documents or "", corpus=corpus_config(args))


def index_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.documents import build_corpus_index

    bars = DelayedBars(args)
    try:
        out, _ = build_corpus_index(infinigram_config(args), args.out, args.overwrite, bars)
    finally:
        bars.close()
    emit(args, out, f"{out['unit']} index of {out['tokens']:,} tokens in {out['documents']:,} "
         f"documents ({out['token_dtype']} ids): {out['index']}\n"
         f"{out['bytes'] / 2**20:.1f} MiB, {out['bytes_per_token']:.2f} bytes per token, "
         f"built in {out['build_s']:.2f} s")
    return 0


def find_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.infinigram import InfiniGram

    n, hits = InfiniGram(args.index).find(args.text, args.around, args.limit)
    lines = [f"{n:,} occurrences"] + [
        f"doc {h.document} @{h.position}: {h.left!r} [{h.match!r}] {h.right!r}" for h in hits]
    emit(args, {"count": n, "hits": [vars(h) for h in hits]}, "\n".join(lines))
    return 0


def query_command(args: argparse.Namespace) -> int:
    from seqlm.ngram.infinigram import InfiniGram

    g = InfiniGram(args.index)
    d = g.distribution(args.context)
    best = sorted(zip(d.probs.tolist(), d.ids.tolist(), d.counts.tolist(), strict=True),
                  key=lambda t: (-t[0], t[1]))[:args.top_k]
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
        text, source = load_corpus(corpus_config(args)).text(args.split), args.split
    s = g.score(text)
    emit(args, {"scored": source, **s.to_dict()},
         f"∞-gram ({g.unit}) on {source}: {s.tokens:,} tokens, {s.zero_share:.2%} with p = 0; "
         f"{s.nats_per_token:.4f} nats per token over the rest; mean suffix "
         f"{s.mean_suffix_length:.1f} tokens")
    return 0


def shrink_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seqlm.config import EntropyPruneConfig
    from seqlm.errors import SeqlmError
    from seqlm.ngram import read_arpa
    from seqlm.ngram.arpa import write_arpa
    from seqlm.ngram.binary import load_binary
    from seqlm.ngram.entropy_prune import prune_entropy

    config = EntropyPruneConfig(threshold=args.prune_entropy or 0.0,
                                target_ngrams=args.target_ngrams)
    if Path(args.out).exists() and not args.overwrite:
        raise SeqlmError(f"{args.out} exists: pass --overwrite to replace it")
    source = args.arpa or args.binary
    if not Path(source).is_file():
        raise SeqlmError(f"no model file at {source}: train one with `seqlm ngram train`")
    model = read_arpa(args.arpa) if args.arpa else load_binary(args.binary)
    pruned = prune_entropy(model, config.threshold, config.target_ngrams)
    write_arpa(pruned, args.out)
    before, after = model.sizes(), pruned.sizes()
    emit(args, {"arpa": args.out, "counts_before": before, "counts": after,
                "threshold": config.threshold, "target_ngrams": config.target_ngrams},
         f"{sum(before):,} -> {sum(after):,} n-grams ("
         + " / ".join(f"{n:,}" for n in after) + f"): {args.out}")
    return 0

"""The lab's ∞-gram step: an unbounded n-gram over a suffix array, mixed with a 5-gram.

On the code corpus (python-stdlib as bytes, documents = files; 90% train, 5% valid files
for the mixture's EM weights, 5% test files for the score) and on Tiny Shakespeare
(characters; the valid split halved into dev and test): the modified-KN 5-gram alone, the
∞-gram's share of probability-0 tokens, and their mixture with weights per ∞-gram context
bucket (`seqlm.ngram.mixture`), and on code a second mixture with the ∞-gram's denser
level ≥32 (`LEVELS`; docs/ngram.md has more levels, each one more pass over the texts),
and a third with the smoothed ∞-gram in its place (`SMOOTHED`: every suffix length
interpolated, Kneser-Ney continuation counts below the longest, its parameters fitted on the
dev text; `seqlm.ngram.smoothed_infinigram`), the 5-gram and it with one weight set.
The point it makes from its own numbers: long exact repeats, frequent in code, are where an
∞-gram pays. `quick` trains both models on the first 1M characters and scores 10k. Its
line in `seqlm.lab.steps.STEPS`:
`"infinigram": "seqlm.lab.infinigram_lab:lab_step"`. Leaves out: the neural mixture
(docs/ngram.md measures it).
"""

import tempfile
import warnings
from pathlib import Path

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection
from seqlm.ngram.documents import documents
from seqlm.ngram.fit import fit
from seqlm.ngram.infinigram import InfiniGram
from seqlm.ngram.mixture import InfiniGramScorer, NgramScorer, mix
from seqlm.ngram.smoothed_infinigram import SmoothedInfiniGram, SmoothedInfiniGramScorer
from seqlm.ngram.suffix_index import build_index
from seqlm.progress import Progress, report

HELD_OUT, QUICK_HELD_OUT = 150_000, 10_000  # characters of dev and of test text
QUICK_TRAIN = 1_000_000  # characters the quick lab trains both models on
CASES = (("python-stdlib", "byte", "files"), ("tinyshakespeare", "char", "split"))
LEVELS = {"python-stdlib": (32,)}  # the ∞-gram's denser level mixed in too (code only: cheap)
SMOOTHED = ("python-stdlib",)  # the smoothed ∞-gram mixed too (code: the target)


def texts(ctx: LabContext, name: str, rule: str) -> tuple[list[str], str, str, str]:
    """Training documents, the 5-gram's training text, dev and test texts of one corpus."""
    cap = QUICK_HELD_OUT if ctx.config.quick else HELD_OUT
    if name == "python-stdlib":
        corpus = ctx.corpus(name, valid_fraction=0.05, test_fraction=0.05)
        dev, test = corpus.text("valid")[:cap], corpus.text("test")[:cap]
    else:
        corpus = ctx.corpus(name)
        valid = corpus.text("valid")
        dev, test = valid[:len(valid) // 2][:cap], valid[len(valid) // 2:][:cap]
    train, docs = corpus.text("train"), documents(corpus, "train", rule)
    if ctx.config.quick:  # the first documents up to QUICK_TRAIN characters, for both models
        sizes = [len(d) for d in docs]
        keep = next((i for i in range(len(docs)) if sum(sizes[:i + 1]) > QUICK_TRAIN), len(docs))
        docs, train = docs[:max(keep, 1)], train[:QUICK_TRAIN]
    return docs, train, dev, test


def one_case(ctx: LabContext, name: str, unit: str, rule: str, folder: Path) -> dict:
    docs, train, dev, test = texts(ctx, name, rule)
    build_index(docs, unit, folder / f"{name}.idx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        five = fit(train, NgramConfig(order=5, unit=unit))
    g = InfiniGramScorer(InfiniGram(folder / f"{name}.idx"))
    r = mix([NgramScorer(five, "5-gram"), g], dev, test)
    ngram, infini = r.components
    out = {"unit": unit, "tokens": r.mixture.tokens, "ngram_nats": ngram.nats,
           "infinigram_zero_share": infini.zero_tokens / infini.tokens,
           "mixture_nats": r.mixture.nats, "gain": 1 - r.mixture.nats / ngram.nats,
           "buckets": len(r.bucket_weights)}
    levels = LEVELS.get(name, ())
    if levels:
        dense = [InfiniGramScorer(g.model, f"∞-gram ≥{k}", k) for k in levels]
        leveled = mix([NgramScorer(five, "5-gram"), g, *dense], dev, test)
        out |= {"levels": list(levels), "levels_mixture_nats": leveled.mixture.nats,
                "levels_gain": 1 - leveled.mixture.nats / ngram.nats}
    if name in SMOOTHED:
        smoothed = SmoothedInfiniGramScorer(SmoothedInfiniGram(g.model))
        both = mix([NgramScorer(five, "5-gram"), smoothed], dev, test)
        out |= {"smoothed_nats": both.components[1].nats,
                "smoothed_mixture_nats": both.mixture.nats,
                "smoothed_gain": 1 - both.mixture.nats / ngram.nats}
    return out


def lab_step(ctx: LabContext) -> LabSection:
    metrics, notes = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, unit, rule) in enumerate(CASES):
            report(ctx.progress, Progress("infinigram", i, len(CASES), unit="corpus",
                                          message=name))
            try:
                metrics[name] = one_case(ctx, name, unit, rule, Path(tmp))
            except SeqlmError as e:
                notes.append(f"- {name}: skipped: {e}")
    lines = ["An ∞-gram (Liu et al. 2024) predicts from the longest suffix of the context that "
             "occurs in the training text, counted on a suffix array; alone it gives many "
             "tokens probability 0, mixed with a modified-KN 5-gram (EM weights on held-out "
             "dev text, per bucket of the ∞-gram's suffix length) it lends the 5-gram its "
             "unbounded memory. On code the ∞-gram also joins at a denser level (the longest "
             "suffix that at least 32 tokens followed: a shorter context, a sturdier "
             "estimate), and the smoothed ∞-gram (every suffix length interpolated, Kneser-Ney "
             "continuation counts, fitted on dev) is mixed with the 5-gram in its place.", "",
             "| corpus | unit | test tokens | 5-gram nats/token | ∞-gram p = 0 | mixture | gain "
             "| with level ≥32 | gain | smoothed ∞-gram | mixed with the 5-gram | gain |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        lines.append(f"| {name} | {m['unit']} | {m['tokens']:,} | {m['ngram_nats']:.4f} | "
                     f"{m['infinigram_zero_share']:.1%} | {m['mixture_nats']:.4f} | "
                     f"{m['gain']:.1%} | "
                     + (f"{m['levels_mixture_nats']:.4f} | {m['levels_gain']:.1%} |"
                        if "levels" in m else "| |")
                     + (f" {m['smoothed_nats']:.4f} | {m['smoothed_mixture_nats']:.4f} | "
                        f"{m['smoothed_gain']:.1%} |" if "smoothed_nats" in m else " | | |"))
    if len(metrics) == 2:
        code, prose = metrics["python-stdlib"]["gain"], metrics["tinyshakespeare"]["gain"]
        lines += ["", f"The mixture gains {code:.1%} on code and {prose:.1%} on Shakespeare: "
                  + ("code repeats itself verbatim (imports, idioms, whole functions), prose "
                     "far less." if code > prose else "here prose gained more than code.")]
    return LabSection(title="∞-gram and mixture", markdown="\n".join(lines + notes),
                      metrics=metrics)

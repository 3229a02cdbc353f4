"""The lab's n-gram baseline: the perplexity every neural language model must beat.

3-gram and 5-gram models with add-k (Laplace, k = 1) and interpolated modified Kneser-Ney
(= KenLM's lmplz) on `verbs` (words) and Tiny Shakespeare (words and characters), trained on
the train split and scored on the validation split with KenLM's conventions (one `</s>` per
line counted, `<s>` never; perplexity including OOVs, and excluding them). One count serves
both smoothings of an order. Tiny Shakespeare rows are skipped, with the reason, when the file
cannot be had. `quick` drops the character 5-gram. Leaves out: tuning k or the order on the
validation split (the numbers are baselines, not the best n-gram).
"""

import warnings

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.fit import count_text, fit_counts
from seqlm.progress import Progress, report

CORPORA = (("verbs", "word"), ("tinyshakespeare", "word"), ("tinyshakespeare", "char"))
ORDERS = (3, 5)
SMOOTHINGS = ("addk", "mkn")


def evaluate(train: str, valid: str, unit: str, order: int) -> dict[str, dict]:
    """Perplexities of both smoothings of one order, from one count."""
    counts = count_text(train, NgramConfig(order=order, unit=unit))
    out = {}
    for smoothing in SMOOTHINGS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DiscountFallbackWarning)
            model = fit_counts(counts, NgramConfig(order=order, unit=unit, smoothing=smoothing))
        r = model.perplexity(valid)
        out[smoothing] = {"perplexity": r.perplexity,
                          "perplexity_excluding_oov": r.perplexity_excluding_oov,
                          "tokens": r.tokens, "oovs": r.oovs, "ngrams": counts.sizes(),
                          "fallback_orders": model.info.get("fallback_orders", []),
                          "warnings": [str(w.message) for w in caught]}
    return out


def lab_step(ctx: LabContext) -> LabSection:
    metrics: dict[str, dict] = {}
    notes: list[str] = []
    for i, (name, unit) in enumerate(CORPORA):
        report(ctx.progress, Progress("ngram", i, len(CORPORA), unit="corpus", message=name))
        try:
            corpus = ctx.corpus(name)
        except SeqlmError as e:
            notes.append(f"- {name} ({unit}): skipped, the corpus is not available here: {e}")
            continue
        train, valid = corpus.text("train"), corpus.text("valid")
        for order in ORDERS:
            if ctx.config.quick and unit == "char" and order == 5:
                notes.append(f"- {name} ({unit}) 5-gram: left out of the quick lab")
                continue
            for smoothing, m in evaluate(train, valid, unit, order).items():
                metrics[f"{name}/{unit}/{order}/{smoothing}"] = m
    report(ctx.progress, Progress("ngram", len(CORPORA), len(CORPORA), unit="corpus"))
    plot = bar_plot(ctx, metrics)
    return LabSection(title="n-gram baselines", markdown=markdown(metrics, notes, plot),
                      metrics=metrics)


def groups_of(metrics: dict[str, dict]) -> list[str]:
    """`corpus/unit/order` of every row, in the order they were run."""
    return list(dict.fromkeys(k.rsplit("/", 1)[0] for k in metrics))


def markdown(metrics: dict[str, dict], notes: list[str], plot: str | None) -> str:
    lines = ["Validation perplexity (KenLM's conventions: `</s>` counted, `<s>` never; OOVs "
             "scored as `<unk>`). Modified Kneser-Ney is the number to beat.", "",
             "| corpus | unit | order | add-k (k=1) | modified KN | modified KN excl. OOV | "
             "OOVs / tokens |", "|---|---|---|---|---|---|---|"]
    for key in groups_of(metrics):
        name, unit, order = key.split("/")
        addk, mkn = metrics[f"{key}/addk"], metrics[f"{key}/mkn"]
        lines.append(f"| {name} | {unit} | {order} | {addk['perplexity']:.3f} | "
                     f"{mkn['perplexity']:.3f} | {mkn['perplexity_excluding_oov']:.3f} | "
                     f"{mkn['oovs']:,} / {mkn['tokens']:,} |")
    fallbacks = [f"{k}: orders {m['fallback_orders']}" for k, m in metrics.items()
                 if m["fallback_orders"]]
    if fallbacks:
        lines += ["", "Discount fallback (0.5, 1, 1.5) used for " + "; ".join(fallbacks) + "."]
    if plot:
        lines += ["", f"![n-gram validation perplexity, word-level and character-level models "
                  f"on their own axes]({plot})"]
    return "\n".join(lines + ([""] + notes if notes else []))


def bar_plot(ctx: LabContext, metrics: dict[str, dict]) -> str | None:
    """Bars of validation perplexity per corpus and order, one panel per unit: a word's and a
    character's perplexity are not on one scale. The relative path."""
    if not metrics:
        return None
    from seqlm.report.figures import plt, save_figure  # Agg backend, set there

    units = list(dict.fromkeys(g.split("/")[1] for g in groups_of(metrics)))
    fig, axes = plt.subplots(1, len(units), figsize=(4.2 * len(units) + 1.0, 3.8),
                             squeeze=False, width_ratios=[
                                 max(1, sum(g.split("/")[1] == u for g in groups_of(metrics)))
                                 for u in units])
    for ax, unit in zip(axes[0], units, strict=True):
        groups = [g for g in groups_of(metrics) if g.split("/")[1] == unit]
        for j, smoothing in enumerate(SMOOTHINGS):
            values = [metrics[f"{g}/{smoothing}"]["perplexity"] for g in groups]
            bars = ax.bar([i + 0.4 * j for i in range(len(groups))], values, width=0.4,
                          label=SMOOTHING_NAMES[smoothing])
            ax.bar_label(bars, fmt="%.3g", fontsize=7)
        ax.set_xticks([i + 0.2 for i in range(len(groups))])
        ax.set_xticklabels([f"{g.split('/')[0].replace('tinyshakespeare', 'Shakespeare')}\n"
                            f"{g.split('/')[2]}-gram" for g in groups], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel(f"validation perplexity per {unit} (log)")
        ax.set_title(f"{unit}-level models", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("n-gram baselines: validation perplexity (lower is better)", fontsize=11)
    save_figure(fig, ctx.run.artifact("ngram_plot", "ngram/perplexity.png"))
    return "ngram/perplexity.png"


SMOOTHING_NAMES = {"addk": "add-one (k = 1)", "mkn": "modified Kneser-Ney"}

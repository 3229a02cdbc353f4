"""The lab's first step: what each built-in corpus holds, in one table."""

from seqlm.data.summary import summarize
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection

LAB_CORPORA = ("verbs", "dates", "tinyshakespeare")


def lab_step(ctx: LabContext) -> LabSection:
    rows, metrics, notes = [], {}, []
    for name in LAB_CORPORA:
        try:
            s = summarize(ctx.corpus(name))
        except SeqlmError as e:
            notes.append(f"- {name}: not available here ({e})")
            continue
        metrics[name] = {k: s[k] for k in ("sha256", "unit", "chars", "vocab_size", "splits")}
        sp = s["splits"]
        rows.append(f"| {name} | {s['unit']} | {s['chars']:,} | {s['vocab_size']:,} | "
                    f"{sp['train']['tokens']:,} / {sp['valid']['tokens']:,} / "
                    f"{sp['test']['tokens']:,} | `{s['sha256'][:12]}` | {s['samples'][0][:60]!r} |")
    table = ["| corpus | unit | chars | vocab | tokens train / valid / test | sha256 | sample |",
             "|---|---|---|---|---|---|---|", *rows]
    return LabSection(title="Corpora", markdown="\n".join(table + [""] + notes), metrics=metrics)

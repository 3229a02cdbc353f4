"""The lead of the lab's gated-cells chapter: where the LSTM and GRU beat the vanilla RNN,
stated from the numbers of the steps that measured it.

The chapter's steps run in the order of the story (compare at a small budget, then the sweep
over budgets, agreement by distance, closing brackets by distance), but a reader should meet
the findings first. So the lab puts this section before `compare` each time it writes its
report, from the metrics of whichever of those steps have run: the sweep's crossover and its
largest budget, the agreement gap beyond distance 20, and the closing accuracy at the longest
bracket distance. It computes nothing new; every number is one of those steps' own.
"""

from seqlm.report.lab_page import CELLS as CELL_TITLES

TITLE = "The gated cells, in brief"


def name(cell: str) -> str:
    return CELL_TITLES.get(cell, cell)


def sweep_lines(sweep: dict) -> list[str]:
    curve, cross = sweep.get("curve", {}), sweep.get("crossover", {})
    if "rnn" not in curve:
        return []
    largest = max(curve["rnn"], key=int)
    means = ", ".join(f"{name(c)} {curve[c][largest]['mean']:.3f}" for c in curve)
    found = [f"{name(c)} from {x['budget']} steps"
             + (" (intervals separate)" if x["clear"] else " (intervals overlap)")
             for c, x in cross.items() if x["budget"] is not None]
    never = [name(c) for c, x in cross.items() if x["budget"] is None]
    out = [f"- **Budget** (this lab's sweep, {sweep['corpus']}): at {largest} steps, validation "
           f"nats/char {means}."]
    if found:
        out.append("  The gated cells overtake the RNN: " + "; ".join(found) + ".")
    if never:
        out.append(f"  {' and '.join(never)} {'does' if len(never) == 1 else 'do'} not stay "
                   f"below the RNN up to {largest} steps.")
    return out


def agreement_lines(agreement: dict) -> list[str]:
    far = agreement.get("beyond_20", {})
    pooled = far.get("pooled", {})
    if "rnn" not in pooled or pooled["rnn"]["accuracy"] is None:
        return []
    gaps = ", ".join(f"{name(c)} {g:+.1f} points" for c, g in far["gap_points_vs_rnn"].items()
                     if g is not None)
    return [f"- **Long-range agreement** (distance > 20 words, "
            f"{', '.join(far['buckets'])} pooled): RNN {100 * pooled['rnn']['accuracy']:.1f}% "
            f"correct verb forms; against it {gaps}."]


def bracket_lines(structure: dict) -> list[str]:
    models = {k: v for k, v in structure.get("models", {}).items() if "parameters" in v}
    buckets = [b for r in models.values() for b in r["valid"]["by_distance"]]
    if not buckets:
        return []
    far = max(buckets, key=lambda b: int(b.split("-")[0]))
    scores = ", ".join(f"{name(c)} {100 * r['valid']['by_distance'][far]['accuracy']:.1f}%"
                       for c, r in models.items() if far in r["valid"]["by_distance"])
    return [f"- **Closing brackets** at the longest distance ({far} characters, validation): "
            f"{scores}."]


def lead(metrics: dict) -> str | None:
    """The chapter's lead from the steps' metrics so far; None before any of them ran."""
    lines = [*sweep_lines(metrics.get("sweep", {})),
             *agreement_lines(metrics.get("agreement", {})),
             *bracket_lines(metrics.get("structure", {}))]
    if not lines:
        return None
    return "\n".join([
        "The sections below start with the honest first half: at a small budget the vanilla "
        "RNN holds its own. What the steps that follow measured, at this lab's budgets, on "
        "where gating pays:", "",
        *lines, "",
        "Each number is the section's own below, with the command that reproduces it. The "
        "full sweep (300 to 3,000 steps, two seeds, 46 minutes: `seqlm compare --sweep`) is "
        "measured apart in docs/nnlm.md, where the GRU overtakes the RNN at 3,000 steps and "
        "the LSTM is still closing in."])

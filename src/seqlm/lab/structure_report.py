"""The Markdown of `seqlm structure`'s report: tables of the measures, the pictures, samples.

Numbers come from the results dicts the measures return; nothing here computes. The prose
states each measure's definition once (docs/structure.md has the long form).
"""

from seqlm.config import BracketsConfig, StructureConfig


def fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def top_unit(neurons: dict, label: str) -> str:
    entry = neurons.get(label, {})
    if "units" not in entry:
        return entry.get("skipped", "-")
    best = entry["units"][0]
    return f"{best['unit']} r={best['r']:+.3f}, probe R²={fmt(entry['probe_r2'], 2)}"


def brackets_rows(results: dict) -> list[str]:
    rows = []
    for name, r in results.items():
        size = (f"{r['parameters']:,} (H={r['hidden']})" if "parameters" in r else
                f"{r['ngrams']:,} n-grams (order {r['order']})" if "ngrams" in r else "-")
        v, t = r["valid"], r["test"]
        rows.append(f"| {name} | {size} | {fmt(v['closing_accuracy'])} | "
                    f"{fmt(t['closing_accuracy'])} | {fmt(v['p_end_balanced'])} | "
                    f"{fmt(v['p_closer_balanced'])} | {fmt(v['p_end_open'])} | "
                    f"{top_unit(r.get('neurons', {}), 'depth')} |")
    return rows


def distance_table(results: dict) -> list[str]:
    """Closing accuracy by the distance from opener to closer (validation split), with 95%
    intervals: the counterpart, in characters, of the agreement table's distance buckets."""
    buckets = sorted({k for r in results.values() for k in r["valid"]["by_distance"]},
                     key=lambda b: int(b.split("-")[0]))
    if not buckets:
        return []

    def cell(entry: dict | None) -> str:
        if not entry or not entry["total"]:
            return "-"
        low, high = entry["interval"]
        return (f"{100 * entry['accuracy']:.1f}% ({100 * low:.0f}-{100 * high:.0f}), "
                f"n={entry['total']}")

    return ["Closing accuracy by characters from opener to closer (validation split, 95% "
            "Wilson interval): the bracket counterpart of the agreement table's distances "
            "(`seqlm compare --agreement`).", "",
            "| model | " + " | ".join(buckets) + " |", "|---|" + "---|" * len(buckets),
            *[f"| {name} | " + " | ".join(cell(r["valid"]["by_distance"].get(b))
                                          for b in buckets) + " |"
              for name, r in results.items()], ""]


def render_brackets(config: StructureConfig, results: dict, brackets: BracketsConfig,
                    trained: str | None = None) -> str:
    """`trained` describes an analysed model; None: the cells were trained here."""
    b, tc = brackets, config.train
    rate = next(iter(results.values()))["valid"]["end_rate_balanced"]
    models = trained or (
        f"Networks: {tc.model.num_layers} layer(s), equal parameters (LSTM H="
        f"{tc.model.hidden_size}), {tc.engine.max_steps} steps of {tc.batch_size}x{tc.window} "
        f"characters, Adam {tc.engine.schedule.lr}, seed {tc.seed}")
    lines = [
        f"Dyck-{b.types} strings ({b.min_pairs}-{b.max_pairs} pairs, depth up to "
        f"{b.max_depth}); held out: {b.max_pairs + 1}-{b.heldout_max_pairs} pairs, depth "
        f"{b.max_depth + 1}-{b.heldout_max_depth}. {models}; n-gram: characters, order "
        f"{config.ngram_order}, modified Kneser-Ney, same training strings. Scored on the "
        f"first {config.eval_strings} strings of each split.", "",
        "Closing accuracy: at each closer, the most likely closer is the right type. "
        "p(end | balanced): mass on the newline (\"close now\": the string may end) after a "
        "balanced non-empty prefix; p(closer | balanced) there and p(end | open) are "
        "illegal mass. Depth unit: the hidden or cell unit whose activation correlates best "
        "(Pearson, over a validation passage) with the bracket depth.", "",
        "| model | size | closing acc. (valid) | closing acc. (held out) | p(end \\| balanced) "
        "| p(closer \\| balanced) | p(end \\| open) | depth unit |",
        "|---|---|---|---|---|---|---|---|",
        *brackets_rows(results), "",
        f"The validation strings end at {fmt(rate)} of their balanced non-empty prefixes: "
        "what a calibrated model puts on the newline there, on average.", "",
        *distance_table(results),
        "![accuracy by depth](structure/accuracy_depth.png) "
        "![accuracy by distance](structure/accuracy_distance.png)", ""]
    for name, r in results.items():
        for label, paths in r.get("pictures", {}).items():
            lines += [f"**{name}, {label}**", "", f"![{name} {label}]({paths['heatmap']})",
                      *([f"![{name} {label} trace]({paths['trace']})"] if "trace" in paths
                        else []), ""]
    return "\n".join(lines)


def share_cell(entry: dict) -> str:
    low, high = entry["wilson95"]
    return f"{entry['count']}/{entry['of']} ({100 * entry['share']:.0f}%, {100 * low:.0f}-" \
           f"{100 * high:.0f})"


def render_code(config: StructureConfig, name: str, result: dict) -> str:
    samples = result["samples"]
    lines = [
        f"{config.samples} samples of {config.sample_length} characters per model after a "
        f"newline, temperature {config.temperature}; the n-gram is a character "
        f"{config.code_ngram_order}-gram (modified Kneser-Ney) on the first "
        f"{samples['ngram']['train_chars']:,} training characters. Brackets balance: no "
        "closer without or against its opener (open at the cut allowed); indentation: "
        "Python's rule. Wilson 95% intervals.", "",
        "| model | brackets balance | all closed | indentation consistent | both |",
        "|---|---|---|---|---|",
        *[f"| {m} | {share_cell(s['brackets_balance'])} | {share_cell(s['brackets_closed'])} "
          f"| {share_cell(s['indentation_consistent'])} | {share_cell(s['both'])} |"
          for m, s in (("LM (" + name + ")", samples["lm"]), ("n-gram", samples["ngram"]))],
        "", "Units (Pearson correlation over a validation passage; probe: ridge regression "
        "on every unit, R² on the passage's second half):", "",
        "| label | best units | probe R² |", "|---|---|---|"]
    for label, entry in result["neurons"].items():
        units = ", ".join(f"{u['unit']} {u['r']:+.3f}" for u in entry.get("units", [])) \
            or entry.get("skipped", "-")
        lines.append(f"| {label} | {units} | {fmt(entry.get('probe_r2'), 2)} |")
    lines.append("")
    for label, paths in result["pictures"].items():
        lines += [f"![{label}]({paths['heatmap']})",
                  *([f"![{label} trace]({paths['trace']})"] if "trace" in paths else []), ""]
    for m in ("lm", "ngram"):
        text = samples[m]["examples"][0].replace("```", "'''") if samples[m]["examples"] else ""
        lines += [f"**A sample of the {m}**", "", "```", text, "```", ""]
    return "\n".join(lines)

"""What each kind of run shows on its page: one builder per command, manifest in, `Page` out.

Runs whose experiment writes its own Markdown (the lab, `compare`, `structure`, `seq2seq
compare`) keep it in the manifest's `sections`; the page shows those sections in order, each
with the command that reproduces it. Training runs (`train`, `seq2seq train`) get their table
of results, curves drawn from the recorded history, samples or translation errors; the other
commands a table of what they measured. Numbers are read from the manifest, never computed
here. The lab's headline numbers and the commands of its sections are in `lab_page`.
`PAGES` maps each command to its builder: a command that writes a run registers its page
there, so the report imports no experiment.
Leaves out: pages for commands that write no run (`sample`, `translate`).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlm.report.lab_page import lab_page
from seqlm.report.page import Page, Section, command_of
from seqlm.report.training_pages import seq2seq_train_page, train_page

Manifest = dict[str, Any]
PageBuilder = Callable[[Path, Manifest], Page]


def build_page(run_dir: Path, manifest: Manifest) -> Page:
    """The page of `run_dir`, chosen by the command that wrote it."""
    return PAGES.get(manifest["command"], metrics_page)(run_dir, manifest)


LEADS = {
    "compare": "Vanilla RNN, LSTM and GRU language models (and minGRU, minLSTM where named) "
               "trained on the same characters with the same data order, seed and budget, at "
               "equal numbers of parameters: which cell learns most, and how far back each "
               "one carries the gradient.",
    "structure": "What recurrent networks learn about structure: do they close brackets "
                 "correctly, and which single units count depth, indentation or strings.",
    "seq2seq compare": "Encoder-decoder networks that turn dates written in many ways into "
                       "YYYY-MM-DD, with and without attention, on the same data, seed and "
                       "budget: how much the fixed-size bottleneck costs, and where each "
                       "model looks while it writes.",
    "by-hand": "A small recurrent language model written in NumPy, with backpropagation "
               "through time by hand, read one token at a time: its hidden state, its gates, "
               "and what it expects next.",
    "vanishing": "The two reasons recurrence lost to attention, measured: gradients that "
                 "shrink with every step back through time, and computation that must run "
                 "one step after another.",
}


def sections_page(run_dir: Path, m: Manifest) -> Page:
    """A run whose experiment wrote its report's sections itself."""
    command = command_of(m)
    sections = [Section(s["title"], s["markdown"], (command,), anchor=s.get("step", ""))
                for s in m.get("sections", [])]
    title = sections[0].title if len(sections) == 1 else f"seqlm {m['command']}"
    return Page(title, LEADS.get(m["command"], ""), sections)


def byhand_page(run_dir: Path, m: Manifest) -> Page:
    metrics = m.get("metrics", {})
    t = metrics.get("training", {})
    walk = metrics.get("walk", [])
    rows = ["| # | token | ‖h‖ | top next tokens |", "|---|---|---|---|"]
    for i, s in enumerate(walk):
        top = ", ".join(f"`{tok}` {p:.2f}" for tok, p in s["top"])
        rows.append(f"| {i} | `{s['token']}` | {s['h_norm']:.2f} | {top} |")
    text = []
    if t:
        text += [f"Trained for {t['steps']:,} updates ({t['seconds']:.1f} s): "
                 f"{t['num_params']:,} parameters, {t['vocab_size']} words, final training "
                 f"loss {t['final_loss_nats']:.3f} nats per word.", ""]
    if walk:
        text += [*rows, "", f"After the last token the model's first choice is "
                 f"`{metrics['next_token']}` (p = {metrics['next_token_prob']:.3f})."]
    if metrics.get("sample"):
        text += ["", "What it writes after the prompt:", "", "```", metrics["sample"], "```"]
    page = Page("By hand: a NumPy recurrent language model", LEADS["by-hand"])
    page.sections = [Section("The walk, token by token", "\n".join(text), (command_of(m),))]
    return page


def vanishing_page(run_dir: Path, m: Manifest) -> Page:
    metrics = m.get("metrics", {})
    rows = ["| cell | gradient kept per step back, at initialisation | after training | "
            "gradient at the subject / at the verb, after training |", "|---|---|---|---|"]
    for cell, v in metrics.get("empirical", {}).get("cells", {}).items():
        rows.append(f"| {cell.upper()} | x{v['rate_init']:.3f} | x{v['rate_trained']:.3f} | "
                    f"{v['subject_ratio_trained']:.1e} |")
    plots = [f"![{caption}]({path})" for name, caption in (
        ("vanishing_analytic", "Jacobian products: the norm of a gradient sent k steps back"),
        ("vanishing_empirical", "measured gradient norms on agreement sentences"),
        ("vanishing_timing", "forward time against sequence length"))
        for path in [m.get("artifacts", {}).get(name)] if path]
    text = [metrics.get("statement", ""), "", *rows, "", " ".join(plots)]
    return Page("Why gradients vanish, and why recurrence is serial", LEADS["vanishing"],
                [Section("What was measured", "\n".join(text), (command_of(m),))])


def metrics_page(run_dir: Path, m: Manifest) -> Page:
    """Any other run: its numbers as a table (n-gram runs, `eval`, `seq2seq eval`, ...)."""
    rows = flat_rows(m.get("metrics", {}))
    text = ["| measure | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]] \
        if rows else ["This run recorded no numbers."]
    extra = [f"- {k}: `{v}`" for k, v in (("scored", m.get("scored")),
                                          ("model", m.get("model"))) if v]
    lead = (f"What `seqlm {m['command']}` measured. Validation is the held-back part of a "
            "corpus used while choosing settings; test is data no choice looked at.")
    return Page(f"seqlm {m['command']}", lead,
                [Section("Results", "\n".join([*extra, "", *text]), (command_of(m),))])


def flat_rows(metrics: dict[str, Any], prefix: str = "", limit: int = 200
              ) -> list[tuple[str, str]]:
    """Scalars of a nested dict as `a / b / c` rows (lists shown by their length)."""
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flat_rows(value, f"{name} / ", limit - len(rows))
        elif isinstance(value, list):
            shown = ", ".join(map(str, value)) if len(value) <= 6 and all(
                isinstance(v, int | float | str) for v in value) else f"{len(value)} entries"
            rows.append((name, shown))
        else:
            rows.append((name, number(value)))
        if len(rows) >= limit:
            break
    return rows[:limit]


def number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


# the registry: command -> its page builder (manifest in, Page out); a command that writes a
# run adds its builder here, any other gets `metrics_page`
PAGES: dict[str, PageBuilder] = {
    "lab": lab_page, "train": train_page, "seq2seq train": seq2seq_train_page,
    "compare": sections_page, "structure": sections_page, "seq2seq compare": sections_page,
    "by-hand": byhand_page, "vanishing": vanishing_page}

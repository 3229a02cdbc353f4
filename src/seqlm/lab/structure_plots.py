"""The pictures of `seqlm structure`: text heatmaps, activation traces, accuracy curves.

- `text_heatmap`: Karpathy, Johnson and Fei-Fei (2015)'s picture: the passage drawn
  character by character in a grid (a newline ends a row and is drawn as a return sign; rows
  wrap at `WIDTH` columns), each character's cell coloured by one unit's activation after
  reading it, blue negative, red positive; hidden states are in [-1, 1] and keep that scale,
  LSTM cell states (unbounded) are centred on their median over the passage and divided by
  their largest deviation from it (the title says which);
- `activation_trace`: a unit's activation over a passage beside the label it tracks;
- `accuracy_curves`: closing-bracket accuracy against depth or distance per model, one panel
  per split (validation, held out), points with fewer than `MIN_COUNT` closers left out.

Leaves out: interactive views (Karpathy's were HTML).
"""

from pathlib import Path

import numpy as np

from seqlm.report.figures import plt, save_figure

WIDTH = 80  # columns of a heatmap row
NEWLINE_SIGN = "\u21b5"
MIN_COUNT = 20  # closers a curve point needs


def grid_of(text: str, width: int = WIDTH) -> list[list[int]]:
    """Rows of character positions: a newline closes its row, long rows wrap."""
    rows: list[list[int]] = [[]]
    for t, ch in enumerate(text):
        if len(rows[-1]) == width:
            rows.append([])
        rows[-1].append(t)
        if ch == "\n":
            rows.append([])
    return [r for r in rows if r] or [[]]


def text_heatmap(text: str, values: np.ndarray, path: str | Path, title: str) -> Path:
    """The passage with every character's background coloured by `values` (T,)."""
    bounded = bool(len(values)) and float(np.abs(values).max()) <= 1.0
    centre = 0.0 if bounded else float(np.median(values))
    scale = 1.0 if bounded else max(float(np.abs(values - centre).max()), 1e-12)
    shown = (values - centre) / scale
    rows = grid_of(text)
    columns = max(len(row) for row in rows)
    cells = np.full((len(rows), columns), np.nan)
    for i, row in enumerate(rows):
        cells[i, : len(row)] = shown[row]
    fig, ax = plt.subplots(figsize=(max(4.0, columns * 0.12), 0.8 + len(rows) * 0.2))
    ax.imshow(cells, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            ch = NEWLINE_SIGN if text[t] == "\n" else text[t]
            ax.text(j, i, ch, ha="center", va="center", fontsize=7, family="monospace",
                    in_layout=False)  # the grid sets the layout: no text extents to measure
    ax.set_axis_off()
    note = "colour: activation in [-1, 1]" if bounded else \
        f"colour: (activation - {centre:.3g}) / {scale:.3g} (median, largest deviation)"
    ax.set_title(f"{title}\n{note}", fontsize=9)
    return save_figure(fig, path)


def activation_trace(values: np.ndarray, label: np.ndarray, label_name: str,
                     path: str | Path, title: str) -> Path:
    """The label (top) and the unit's activation (bottom) over the passage's characters;
    the passage itself is in the heatmap beside it."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.0, 3.4), sharex=True)
    x = np.arange(len(values))
    top.step(x, label, where="mid", color="black")
    top.set_ylabel(label_name)
    bottom.plot(x, values, color="tab:red")
    bottom.axhline(0.0, color="grey", linewidth=0.5)
    bottom.set_ylabel("activation")
    bottom.set_xlabel("character of the passage")
    top.set_title(title, fontsize=9)
    return save_figure(fig, path)


def accuracy_curves(results: dict[str, dict[str, dict]], key: str, path: str | Path,
                    title: str) -> Path:
    """results[model][split] = a `structure_brackets.measure` dict; key by_depth or
    by_distance."""
    splits = [s for s in ("valid", "test") if any(s in r for r in results.values())]
    fig, axes = plt.subplots(1, len(splits), figsize=(5.0 * len(splits), 3.4), squeeze=False)
    for ax, split in zip(axes[0], splits, strict=True):
        tables = {m: r[split][key] for m, r in results.items() if split in r}
        keys = sorted({k for t in tables.values() for k in t}, key=lambda k: int(k.split("-")[0]))
        for model, table in tables.items():
            acc = [table[k]["correct"] / table[k]["total"]
                   if table.get(k, {"total": 0})["total"] >= MIN_COUNT else np.nan for k in keys]
            ax.plot(range(len(keys)), acc, marker="o", label=model)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(keys, fontsize=8)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("depth before the closer" if key == "by_depth"
                      else "distance to the opener (characters)")
        ax.set_ylabel("closing-bracket accuracy")
        ax.set_title("validation" if split == "valid" else "held out: deeper and longer",
                     fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)

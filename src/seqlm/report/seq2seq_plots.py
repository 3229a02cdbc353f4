"""Plots of the seq2seq experiments, as PNG files (matplotlib's Agg backend, no display).

- `attention_heatmap`: one translation's attention matrix, output characters (and `</s>`)
  down the side, source characters along the bottom, as in Bahdanau et al. 2015, fig. 3,
  with a colour bar for the weight;
- `accuracy_by_length`: exact match per source-length bucket, one line per model, with the
  95% Wilson interval as a band, as in Bahdanau et al. 2015, fig. 2 (BLEU against length).
Leaves out: interactive plots, attention over several heads or layers.
"""

from pathlib import Path

import matplotlib.pyplot as plt  # the Agg backend: set by seqlm.report.figures

from seqlm.decoding.seq2seq import Translation  # noqa: E402
from seqlm.errors import SeqlmError  # noqa: E402
from seqlm.report.figures import save_figure  # noqa: E402

# how each attention is named on pages and plots
LABELS = {"none": "no attention", "bahdanau": "Bahdanau (additive)", "dot": "Luong dot",
          "general": "Luong general", "scaled_dot": "scaled dot (transformer-era)"}


def show_char(c: str) -> str:
    return "␣" if c == " " else c


def attention_heatmap(translation: Translation, path: str | Path, title: str | None = None,
                      ) -> Path:
    """Write the heatmap of `translation.weights` (T_out, S) to `path`."""
    return save_figure(heatmap_figure(translation, title), path)


def heatmap_figure(translation: Translation, title: str | None = None):
    """Output characters (and `</s>`) down the side, source characters along the bottom,
    each cell the attention weight, with its colour bar; not yet saved."""
    weights = translation.weights
    if weights is None:
        raise SeqlmError("this model has no attention to draw (attention 'none'): train one "
                         "that has (`seqlm seq2seq train --attention bahdanau`)")
    rows = [show_char(c) for c in translation.output]
    rows += ["</s>"] * (weights.shape[0] - len(rows))
    cols = [show_char(c) for c in translation.source]
    fig, ax = plt.subplots(figsize=(max(4.5, 0.16 * len(cols) + 2.4),
                                    max(2.8, 0.24 * len(rows) + 1.4)))
    image = ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="attention weight")
    ax.set_xticks(range(len(cols)), cols, fontsize=7, family="monospace")
    ax.set_yticks(range(len(rows)), rows, fontsize=8, family="monospace")
    ax.set_xlabel("source (read by the encoder)")
    ax.set_ylabel("output (written by the decoder)")
    ax.set_title(title or f"{translation.source!r} -> {translation.output!r}", fontsize=8)
    return fig


def accuracy_by_length(curves: dict[str, list[dict]], path: str | Path,
                       title: str = "exact match by source length") -> Path:
    """`curves`: model name -> the `by_length` list of `seqlm.training.seq2seq_score.score`."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, buckets in curves.items():
        mids = [(b["first"] + b["last"]) / 2 for b in buckets]
        ax.plot(mids, [100 * b["accuracy"] for b in buckets], marker="o", label=name)
        ax.fill_between(mids, [100 * b["ci95"][0] for b in buckets],
                        [100 * b["ci95"][1] for b in buckets], alpha=0.15)
    ax.set_xlabel("source length (characters, bucket centre)")
    ax.set_ylabel("exact match (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)

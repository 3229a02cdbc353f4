"""Plots of language-model training, drawn from the histories that runs record.

`loss_curves`: training loss (every `log_every` steps) and validation loss (every evaluation)
in nats per token against the step, one colour per run. `grad_norms`: the global gradient norm
and, where recorded, per-layer norms. `gradient_decay`: ||dL/dh_{t-k}|| against k, log scale.
Matplotlib's non-interactive backend; nothing is shown. Leaves out: interactive dashboards.
"""

from pathlib import Path

import matplotlib.pyplot as plt  # the Agg backend: set by seqlm.report.figures

from seqlm.report.figures import save_figure  # noqa: E402

Series = dict[str, list[dict[str, float]]]


def loss_curves(histories: Series, evals: Series, path: Path, title: str = "") -> Path:
    """One plot: solid training loss, dashed-with-dots validation loss, per named run."""
    return save_figure(loss_figure(histories, evals, title), path)


def loss_figure(histories: Series, evals: Series, title: str = ""):
    """The figure of `loss_curves`, not yet saved."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (name, rows) in enumerate(histories.items()):
        color = f"C{i}"
        if rows:
            ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], color=color, lw=1,
                    alpha=0.8, label=f"{name} train")
        valid = evals.get(name, [])
        if valid:
            ax.plot([r["step"] for r in valid], [r["loss_nats"] for r in valid], "o--",
                    color=color, ms=3, label=f"{name} valid")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def grad_norms(histories: Series, path: Path, title: str = "") -> Path:
    """Global gradient norm (before clipping) per run; per-layer norms as thin lines."""
    return save_figure(grad_norm_figure(histories, title), path)


def grad_norm_figure(histories: Series, title: str = ""):
    """The figure of `grad_norms`, not yet saved."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (name, rows) in enumerate(histories.items()):
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r["grad_norm"] for r in rows], color=f"C{i}", lw=1.2,
                label=f"{name} global")
        layer_keys = sorted({k for r in rows for k in r if k.startswith("grad_norm/")})
        for j, key in enumerate(layer_keys):
            ax.plot(steps, [r.get(key, float("nan")) for r in rows], color=f"C{i}", lw=0.6,
                    ls=[":", "-.", "--"][j % 3], label=f"{name} {key.split('/', 1)[1]}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def gradient_decay(curves: dict[str, list[float]], path: Path, title: str = "") -> Path:
    """||dL/dh_{t-k}|| against k per model (log y)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (name, norms) in enumerate(curves.items()):
        ax.plot(range(len(norms)), norms, color=f"C{i}", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("k (steps back from the loss at t)")
    ax.set_ylabel("||dL_t / dh_{t-k}||")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)

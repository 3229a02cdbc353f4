"""The three plots of `seqlm vanishing`, drawn from its measured numbers (matplotlib, Agg).

analytic.png   Jacobian-product norm against k, log scale, one colour per spectral radius:
               solid at the fixed point, dashed on a driven trajectory; beside it, the
               exploding radii before and after clipping
empirical.png  ||dL_T/dh_k|| against T - k, log scale, RNN / LSTM / GRU, dashed at
               initialisation, solid after training; a grey line marks the subject
timing.png     forward time against T with its linear fit, and the input projection
Leaves out: interactive figures.
"""

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt  # the Agg backend: set by seqlm.report.figures

from seqlm.config import VanishingConfig  # noqa: E402
from seqlm.report.figures import save_figure  # noqa: E402


def write_plots(results: dict, config: VanishingConfig,
                artifact: Callable[[str, str], Path], prefix: str = "") -> list[Path]:
    """Draw the three figures into `artifact(name, relpath)` paths; return the paths."""
    return [
        plot_analytic(results["analytic"], config,
                      artifact("vanishing_analytic", f"{prefix}analytic.png")),
        plot_empirical(results["empirical"], artifact("vanishing_empirical",
                                                      f"{prefix}empirical.png")),
        plot_timing(results["timing"], artifact("vanishing_timing", f"{prefix}timing.png")),
    ]


def plot_analytic(analytic: dict, config: VanishingConfig, path: Path) -> Path:
    fig, (ax, clip_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    k = analytic["k"]
    for i, (radius, v) in enumerate(analytic["radii"].items()):
        colour = f"C{i}"
        ax.plot(k, v["fixed_point"], color=colour, label=f"rho = {radius}")
        ax.plot(k, v["driven"], color=colour, linestyle="--")
        if float(radius) > 1:
            clip_ax.plot(k, v["fixed_point"], color=colour, label=f"rho = {radius}")
            clip_ax.plot(k, v["clipped"], color=colour, linestyle=":",
                         label=f"rho = {radius}, clipped at {config.clip_norm:g}")
    for a in (ax, clip_ax):
        a.set_yscale("log")
        a.set_xlabel("k (steps back)")
        a.legend(fontsize=8)
    ax.set_ylabel("norm of J_T ... J_(T-k+1)")
    ax.set_title(f"H={config.analytic_hidden}: solid tanh' = 1, dashed driven by noise "
                 f"(std {config.drive_std:g})", fontsize=9)
    clip_ax.set_title("exploding: global-norm clipping caps the length", fontsize=9)
    return save_figure(fig, path)


def plot_empirical(empirical: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (cell, v) in enumerate(empirical["cells"].items()):
        ax.plot(v["trained"], color=f"C{i}",
                label=f"{cell.upper()} trained (x{v['rate_trained']:.3f}/step)")
        ax.plot(v["init"], color=f"C{i}", linestyle="--",
                label=f"{cell.upper()} init (x{v['rate_init']:.3f}/step)")
    ax.axvline(empirical["distance"], color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("T - k (steps back from the verb; grey: the subject)")
    ax.set_ylabel("||dL_T / dh_k||")
    ax.set_title(f"Gradient of the verb's loss over {empirical['sentences']} agreement "
                 f"sentences, distance {empirical['distance']}", fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_timing(timing: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lengths = timing["lengths"]
    ms = [1e3 * s for s in timing["forward_s"]]
    fit = [1e3 * (timing["seconds_per_step"] * t + timing["intercept_s"]) for t in lengths]
    ax.plot(lengths, ms, "o", label="RNN forward (serial over T)")
    ax.plot(lengths, fit, "-", label=f"linear fit, R^2 = {timing['r2']:.3f}")
    ax.plot(lengths, [1e3 * s for s in timing["projection_s"]], "s-",
            label="input projection, all T at once")
    ax.set_xlabel("T (steps)")
    ax.set_ylabel("milliseconds (median)")
    ax.set_title(f"NumPy RNN forward, B={timing['batch']}, H={timing['hidden']}", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


"""`seqlm vanishing`: why recurrent models lost to attention, measured.

1. Analytic: ||J_T ... J_{T-k+1}||_2, J = diag(tanh') W, for W scaled to spectral radius
   0.5 / 0.9 / 1.0 / 1.1 / 1.5 and k = 1..100, at the fixed point (tanh' = 1: pure rho^k)
   and along a noise-driven trajectory (saturation shrinks tanh'); and the exploding case
   after global-norm clipping, which caps the length and keeps the direction.
2. Empirical: ||dL_T/dh_k|| against T - k in RNN, LSTM and GRU LMs on subject-verb agreement
   sentences of the `verbs` corpus (verb `distance` >= 50 tokens after the subject), at
   initialisation and after brief training, with a fitted decay factor per step.
3. Serial computation: forward time of the NumPy RNN against T (linear, one dependent step
   after another) beside the input projection for all T steps in one product.
A statement generated from these numbers closes the section. Plots in `vanishing_plots`.
Leaves out: attention models themselves (the seq2seq steps measure those).
"""

import time
from dataclasses import replace

import numpy as np

from seqlm.config import ReferenceModelConfig, ReferenceTrainConfig, VanishingConfig
from seqlm.data.corpora.verbs import agreement_examples
from seqlm.data.vocab import EOS, Vocab
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.reference.cells import make_cell
from seqlm.reference.gradient_flow import (
    driven_tanh_primes,
    fit_decay_rate,
    gradient_norms,
    jacobian_product_norms,
    scaled_recurrent_matrix,
)
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.recurrence import layer_forward
from seqlm.reference.tbptt import train
from seqlm.runs.run import Run


def check(config: VanishingConfig) -> None:
    if config.distance < 50:
        raise SeqlmError(f"distance {config.distance} is too short to show vanishing: use 50 "
                         "or more tokens between subject and verb")
    if config.max_k < 2 or config.examples < 1 or len(config.timing_lengths) < 2:
        raise SeqlmError("max_k >= 2, examples >= 1 and two or more timing lengths are needed")


def analytic(config: VanishingConfig) -> dict:
    """Jacobian-product norms per radius, at the fixed point and along a driven trajectory."""
    out = {"k": list(range(1, config.max_k + 1)), "radii": {}}
    for radius in config.radii:
        W = scaled_recurrent_matrix(config.analytic_hidden, radius, config.seed)
        fixed = jacobian_product_norms(W, np.ones((config.max_k, W.shape[0])))
        driven = jacobian_product_norms(
            W, driven_tanh_primes(W, config.max_k, config.drive_std, config.seed))
        out["radii"][str(radius)] = {
            "fixed_point": fixed.tolist(), "driven": driven.tolist(),
            "rate_fixed_point": fit_decay_rate(fixed, start=0),
            "rate_driven": fit_decay_rate(driven, start=0),
            "clipped": np.minimum(fixed, config.clip_norm).tolist(),
        }
    return out


def agreement_data(config: VanishingConfig):
    """Training and measuring sentences (disjoint seeds) and their shared vocabulary."""
    measure = agreement_examples(config.seed, config.examples, config.distance)
    training = [ex for d in range(config.distance, config.distance + 5)
                for ex in agreement_examples(config.seed + 1 + d, config.examples, d)]
    tokens = [EOS, *(t for ex in measure + training for t in ex.tokens)]
    vocab = Vocab.build(tokens)
    stream = vocab.encode([t for ex in training for t in (*ex.tokens, EOS)])
    return measure, stream, vocab


def measured_norms(model: ReferenceLM, vocab: Vocab, examples) -> np.ndarray:
    """Geometric mean over sentences of ||dL_T/dh_k|| for T - k = 0..min length, where L_T is
    the loss of predicting the verb (T = verb index - 1)."""
    rows = [gradient_norms(model, vocab.encode(ex.tokens), ex.verb_index - 1) for ex in examples]
    shortest = min(len(r) for r in rows)
    logs = np.log(np.stack([r[:shortest] for r in rows]) + 1e-300)
    return np.exp(logs.mean(axis=0))


def empirical(config: VanishingConfig, progress: ProgressCallback | None = None) -> dict:
    examples, stream, vocab = agreement_data(config)
    window = max(len(ex.tokens) for ex in examples) + 1  # whole sentences inside one window
    train_config = ReferenceTrainConfig(batch_size=8, window=window, lr=config.lr,
                                        steps=config.train_steps, seed=config.seed)
    out = {"distance": config.distance, "sentences": len(examples), "cells": {}}
    for cell in config.cells:
        model = ReferenceLM(ReferenceModelConfig(
            cell=cell, vocab_size=len(vocab), embedding_dim=config.embedding_dim,
            hidden_size=config.hidden_size, seed=config.seed))
        init = measured_norms(model, vocab, examples)
        result = train(model, stream, train_config, progress, task=f"train {cell}")
        trained = measured_norms(model, vocab, examples)
        d = config.distance
        out["cells"][cell] = {
            "init": init.tolist(), "trained": trained.tolist(),
            "rate_init": fit_decay_rate(init[: d + 1]),
            "rate_trained": fit_decay_rate(trained[: d + 1]),
            "subject_ratio_init": float(init[d] / init[0]),  # at the subject vs at the verb
            "subject_ratio_trained": float(trained[d] / trained[0]),
            "train_loss_nats": result.recent_loss(10), "train_steps": result.steps,
        }
    return out


def serial_timing(config: VanishingConfig) -> dict:
    """Median forward time of one RNN layer against T, and of the T-parallel input product."""
    rng = np.random.default_rng(config.seed)
    H, B = config.timing_hidden, config.timing_batch
    cell = make_cell("rnn", H, H, rng)
    forward, projection = [], []
    for T in config.timing_lengths:
        X = rng.standard_normal((B, T, H))
        forward.append(median_seconds(lambda X=X: layer_forward(cell, X, cell.zero_state(B)),
                                      config.timing_repeats))
        projection.append(median_seconds(lambda X=X: X @ cell.params["weight_ih"].T,
                                         config.timing_repeats))
    lengths = np.array(config.timing_lengths, dtype=float)
    slope, intercept = np.polyfit(lengths, forward, 1)
    fitted = slope * lengths + intercept
    r2 = 1.0 - np.sum((forward - fitted) ** 2) / np.sum((forward - np.mean(forward)) ** 2)
    return {"lengths": list(config.timing_lengths), "forward_s": forward,
            "projection_s": projection, "seconds_per_step": float(slope),
            "intercept_s": float(intercept), "r2": float(r2), "batch": B, "hidden": H}


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(config: VanishingConfig, progress: ProgressCallback | None = None) -> dict:
    check(config)
    report(progress, Progress("vanishing", 0, 3, unit="part", message="analytic"))
    results = {"analytic": analytic(config)}
    report(progress, Progress("vanishing", 1, 3, unit="part", message="empirical"))
    results["empirical"] = empirical(config, progress)
    report(progress, Progress("vanishing", 2, 3, unit="part", message="timing"))
    results["timing"] = serial_timing(config)
    report(progress, Progress("vanishing", 3, 3, unit="part"))
    results["statement"] = statement(results, config)
    return results


def statement(results: dict, config: VanishingConfig) -> str:
    """The two reasons, in words, with the numbers just measured."""
    radii = results["analytic"]["radii"]
    cells = results["empirical"]["cells"]
    t = results["timing"]
    d = config.distance
    r_small, r_big = str(min(config.radii, key=lambda r: abs(r - 0.9))), str(max(config.radii))
    per_cell = "; ".join(
        f"{c.upper()} x{v['rate_trained']:.3f} per step after training (x{v['rate_init']:.3f} "
        f"at initialisation), so the gradient at the subject is {v['subject_ratio_trained']:.1e}"
        f" of that at the verb" for c, v in cells.items())
    last, first = t["lengths"][-1], t["lengths"][0]
    serial = t["forward_s"][-1] - t["projection_s"][-1]  # the loop: T products of (B, H)
    slower = serial / t["projection_s"][-1]
    return (
        f"**The gradient path.** A gradient sent k steps back through a tanh RNN is multiplied "
        f"by k Jacobians W^T diag(tanh'). With spectral radius {r_small} its norm shrinks by "
        f"x{radii[r_small]['rate_fixed_point']:.3f} per step (to "
        f"{radii[r_small]['fixed_point'][-1]:.1e} after {config.max_k} steps); with "
        f"{r_big} it grows by x{radii[r_big]['rate_fixed_point']:.3f} per step (to "
        f"{radii[r_big]['fixed_point'][-1]:.1e}) until tanh saturates (x"
        f"{radii[r_big]['rate_driven']:.3f} per step on a driven trajectory). Clipping at "
        f"{config.clip_norm:g} caps the exploding update but cannot restore a vanished one. "
        f"Measured on agreement sentences whose verb is {d} tokens after its subject, "
        f"||dL_T/dh_k|| changes per step by: {per_cell}. Attention reaches the subject in one "
        f"step, with no product of {d} Jacobians in between.\n\n"
        f"**The serial computation.** The NumPy RNN's forward pass costs "
        f"{t['seconds_per_step'] * 1e6:.0f} us per step (B={t['batch']}, H={t['hidden']}; "
        f"a linear fit over T = {first}..{last} has R^2 = {t['r2']:.3f}): each step needs the "
        f"previous one, so T steps run one after another and cannot be spread across time. "
        f"The input projection of all {last} steps has as many multiply-adds as the "
        f"recurrent products (E = H) but runs as one matrix product; the {last} dependent "
        f"steps take {slower:.1f}x as long. A self-attention layer is made only of such "
        f"products over all positions at once."
    )


def run_vanishing(config: VanishingConfig, argv: list[str] | None = None,
                  progress: ProgressCallback | None = None) -> Run:
    """`measure` into a run directory: numbers in the manifest, plots as PNG files."""
    from seqlm.lab.vanishing_plots import write_plots

    check(config)  # before the run directory exists
    run = Run("vanishing", config, out=config.out, overwrite=config.overwrite, argv=argv)
    with run:
        with run.timer("measure"):
            results = measure(config, progress)
        write_plots(results, config, run.artifact)
        run.metrics.update(results)
    return run


def lab_config(quick: bool, seed: int) -> VanishingConfig:
    config = VanishingConfig(seed=seed)
    if quick:
        config = replace(config, examples=6, train_steps=15, timing_lengths=(25, 50, 100, 200),
                         timing_repeats=3)
    return config


def lab_step(ctx: LabContext) -> LabSection:
    from seqlm.lab.vanishing_plots import write_plots

    config = lab_config(ctx.config.quick, ctx.config.seed)
    results = measure(config, ctx.progress)
    write_plots(results, config, ctx.run.artifact, prefix="vanishing/")
    rows = ["| cell | decay per step at init | after training | gradient at subject / at verb "
            "(init, trained) |", "|---|---|---|---|"]
    for cell, v in results["empirical"]["cells"].items():
        rows.append(f"| {cell.upper()} | x{v['rate_init']:.3f} | x{v['rate_trained']:.3f} | "
                    f"{v['subject_ratio_init']:.1e}, {v['subject_ratio_trained']:.1e} |")
    radii = ", ".join(f"rho {r}: x{v['rate_fixed_point']:.3f} (driven x{v['rate_driven']:.3f})"
                      for r, v in results["analytic"]["radii"].items())
    text = [f"Jacobian-product norm per step, fitted over k = 1..{config.max_k}: {radii}.", "",
            "![the norm of a gradient sent k steps back: Jacobian products by spectral radius]"
            "(vanishing/analytic.png)", "",
            f"Measured ||dL_T/dh_k|| on {config.examples} agreement sentences, verb "
            f"{config.distance} tokens after the subject; {config.train_steps} training updates:",
            "", *rows, "",
            "![the measured gradient of the verb's loss, steps back towards the subject]"
            "(vanishing/empirical.png) "
            "![forward time against sequence length: one step after another]"
            "(vanishing/timing.png)", "", results["statement"]]
    return LabSection(title="Why gradients vanish, and why recurrence is serial",
                      markdown="\n".join(text), metrics=results)

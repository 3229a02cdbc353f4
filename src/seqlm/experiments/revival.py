"""The lab's closing chapter, "how recurrence came back": minGRU and minLSTM, measured.

The seeds of the lab end on recurrence's two failures: the gradient through time, and serial
compute. Feng et al. (2024) strip the GRU and LSTM until the gates see only the input; every
matmul then runs over all steps at once and the recurrence left is elementwise and
associative (`seqlm.nn.scan`). Three measurements on this machine, in one step:

    speed      a training step of minGRU on each scan path, torch.nn.GRU / LSTM and seqlm's
               LSTM against T (`seqlm.experiments.scan_speed`; interleaved, median ratios)
    precision  each path's float32 error against the float64 loop as T grows
    quality    minGRU and minLSTM against the LSTM at equal wall-clock time and parameters
               (`seqlm.experiments.compare` with `minutes`), validation nats/char

and what was given up for it, stated and measured where it can be: the state update is
linear (no tanh, no W_hh) and the gates cannot see the past state, so the gradient back
through time is a product of gates alone (||dL_t/dh_{t-k}|| from the compare runs).
Leaves out: GPUs (benchmarks/bench_parallel_rnn.py --gpu-quick), long training budgets
(`seqlm compare --cells lstm mingru minlstm --minutes M`), state-tracking tasks.
"""

import statistics
import time
from dataclasses import replace
from pathlib import Path

from seqlm.config import RevivalConfig, quick_revival
from seqlm.experiments.compare import compare, versus
from seqlm.experiments.lab import LabContext, LabSection
from seqlm.experiments.run import Run
from seqlm.experiments.scan_speed import REFERENCE, median_ratio, scan_errors, time_variants
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.training.threads import torch_threads


def measure_speed(config: RevivalConfig, progress: ProgressCallback | None = None) -> dict:
    """{T: {variant: {"ms_per_sequence", "tokens_per_second", "vs_torch_gru"}}}."""
    out = {}
    for i, steps in enumerate(config.speed_lengths):
        report(progress, Progress("revival speed", i, len(config.speed_lengths), unit="T"))
        with torch_threads(config.speed_threads):
            times = time_variants(steps, config.speed_variants, config.speed_batch,
                                  config.speed_embed, config.speed_hidden,
                                  config.speed_repeats)
        out[steps] = {v: {"ms_per_sequence": 1000 * statistics.median(ts) / config.speed_batch,
                          "tokens_per_second": config.speed_batch * steps
                          / statistics.median(ts),
                          "vs_torch_gru": median_ratio(times, REFERENCE, v),
                          "vs_mingru_seq": median_ratio(times, "mingru-seq", v)}
                      for v, ts in times.items()}
    return out


def speed_table(config: RevivalConfig, speed: dict) -> list[str]:
    variants = config.speed_variants
    lines = [f"Training step (forward, backward, Adam) of a 1-layer char LM, B "
             f"{config.speed_batch}, H {config.speed_hidden}, {config.speed_threads} torch "
             "thread(s); tokens/s and, "
             "in brackets, the median ratio against torch.nn.GRU in the same run (> 1 faster):",
             "", "| T | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for steps, row in speed.items():
        lines.append(f"| {steps} | " + " | ".join(
            f"{row[v]['tokens_per_second']:,.0f} (x{row[v]['vs_torch_gru']:.2f})"
            for v in variants) + " |")
    return lines


def precision_table(errors: dict[str, dict[int, float]]) -> list[str]:
    lengths = list(next(iter(errors.values())))
    return ["float32 against the float64 loop, max |h32 - h64| / max |h64| (gate "
            "pre-activations ~ N(0, 1)):", "",
            "| path | " + " | ".join(f"T={t}" for t in lengths) + " |",
            "|---" * (len(lengths) + 1) + "|",
            *[f"| {name} | " + " | ".join(f"{errors[name][t]:.1e}" for t in lengths) + " |"
              for name in errors]]


def verdict(speed: dict, errors: dict[str, dict[int, float]], quality: dict) -> list[str]:
    """What the numbers say, in words computed from them."""
    longest = max(speed)
    row = speed[longest]
    log, chunk = row["mingru-log"]["vs_mingru_seq"], row["mingru-chunk"]["vs_mingru_seq"]
    loop = row["mingru-seq"]["vs_torch_gru"]
    lines = [f"- At T = {longest} the log-space scan runs at x{log:.2f} and the chunked scan at "
             f"x{chunk:.2f} the speed of minGRU's own sequential loop (the scan "
             f"{'wins' if max(log, chunk) > 1 else 'loses'} here), which runs at x{loop:.2f} the "
             "speed of torch.nn.GRU."]
    t_min, t_max = min(errors["log"]), max(errors["log"])
    growth = {name: e[t_max] / e[t_min] for name, e in errors.items()}
    lines.append(f"- float32 at T = {t_max}: log scan {errors['log'][t_max]:.1e}, chunked "
                 f"{errors['chunked'][t_max]:.1e}, loop {errors['sequential'][t_max]:.1e}; "
                 f"from T = {t_min} the log scan's error grew x{growth['log']:.0f}, the chunked "
                 f"scan's x{growth['chunked']:.1f}, the loop's x{growth['sequential']:.1f}.")
    models = quality["models"]
    if "lstm" in models:
        for cell in ("mingru", "minlstm"):
            if cell in models:
                said = versus(cell, "lstm", models[cell]["loss_nats"],
                              models["lstm"]["loss_nats"])
                lines.append(f"- {said} at equal time ({models[cell]['steps']:,} updates "
                             f"against {models['lstm']['steps']:,}).")
    return lines


LOST = """What is given up. The state update is linear: h_t = a_t h_{t-1} + b_t with no tanh and
no W_hh, so the past can only fade (a < 1) and be added to, never be transformed; a
stack regains some expressiveness through the nonlinear maps between layers. The gates see
only x_t, never h_{t-1}: the model cannot decide what to keep from what it already holds,
and a single layer cannot track state that flips (parity: a > 0 never changes a sign; Grazzi
et al. 2024). The gradient back through time is a product of gates, with no weight matrix in
it: it neither explodes nor rotates, and fades as the state forgets (the ||dL/dh_(t-k)||
lines of the quality runs below)."""


def lab_step(ctx: LabContext) -> LabSection:
    config = RevivalConfig()
    if ctx.config.quick:
        config = quick_revival(config)
    config = replace(config, compare=replace(config.compare, seed=ctx.config.seed,
                                             data_dir=ctx.config.data_dir,
                                             device=ctx.config.device))
    tensorboard = None if ctx.tensorboard is None else ctx.tensorboard / "revival"
    return revival(config, ctx.run, ctx.progress, tensorboard)


def revival(config: RevivalConfig, run: Run, progress: ProgressCallback | None = None,
            tensorboard: Path | None = None) -> LabSection:
    started = time.perf_counter()
    speed = measure_speed(config, progress)
    timed = {"speed": time.perf_counter() - started}
    errors = scan_errors(config.precision_lengths, config.precision_batch,
                         config.precision_hidden, config.scan_chunk, config.compare.seed)
    timed["precision"] = time.perf_counter() - started - sum(timed.values())
    quality = compare(config.compare, run, progress, folder="revival", tensorboard=tensorboard)
    timed["quality"] = time.perf_counter() - started - sum(timed.values())
    text = [*speed_table(config, speed), "", *precision_table(errors), "",
            *verdict(speed, errors, quality.metrics), "", LOST, "",
            "### Quality at equal time", "",
            f"`seqlm compare --cells {' '.join(config.compare.cells)} --minutes "
            f"{config.compare.minutes:g}` (at the lab's settings):", "", quality.markdown]
    return LabSection("How recurrence came back: minGRU and minLSTM", "\n".join(text),
                      metrics={"speed": speed, "precision": errors, "quality": quality.metrics,
                               "seconds": {k: round(v, 2) for k, v in timed.items()}})

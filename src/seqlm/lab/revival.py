"""The lab's closing chapter, "how recurrence came back": minGRU and minLSTM, measured.

The seeds of the lab end on recurrence's two failures: the gradient through time, and serial
compute. Feng et al. (2024) strip the GRU and LSTM until the gates see only the input; every
matmul then runs over all steps at once and the recurrence left is elementwise and
associative (`seqlm.nn.scan`). Three measurements on this machine, in one step:

    speed      a training step of minGRU on each scan path, torch.nn.GRU / LSTM and seqlm's
               LSTM against T (`seqlm.lab.scan_speed`; interleaved, median ratios)
    precision  each path's float32 error against the float64 loop as T grows
    quality    minGRU and minLSTM against the LSTM at equal wall-clock time and parameters
               (`seqlm.lab.compare` with `minutes`), validation nats/char
    newton     the other road back: the nonlinear GRU / LSTM kept and solved by Newton over
               the sequence (`seqlm.nn.newton`): iterations and error on the quality runs'
               own trained LSTM (and as initialised), a training step against T
               (`seqlm.lab.newton_measure`)

and what was given up for it, stated and measured where it can be: the state update is
linear (no tanh, no W_hh) and the gates cannot see the past state, so the gradient back
through time is a product of gates alone (||dL_t/dh_{t-k}|| from the compare runs).
Leaves out: GPUs (benchmarks/bench_parallel_rnn.py --gpu-quick), long training budgets
(`seqlm compare --cells lstm mingru minlstm --minutes M`), state-tracking tasks.
"""

import statistics
import time
from pathlib import Path

from seqlm.config import QUICK_REVIVAL, RevivalConfig, merge
from seqlm.lab.compare import compare, versus
from seqlm.lab.newton_measure import (
    NEWTON_VARIANTS,
    TARGET,
    checkpoint_convergence,
    time_newton,
)
from seqlm.lab.scan_speed import REFERENCE, median_ratio, scan_errors, time_variants
from seqlm.lab.steps import LabContext, LabSection, lab_settings
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.runs.run import Run
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


WHY_NEWTON = """Why a nonlinear recurrence can be parallelised at all. The loop computes h_t =
f(h_(t-1), x_t) one step after another, but the T states are also just the unknowns of one
system of T equations, and a system can be solved by Newton's method (DEER: Lim et al. 2024;
ParaRNN: arXiv 2510.21450). Linearise every step around a guessed trajectory: h_t ~ f(g_(t-1))
+ J_t (h_(t-1) - g_(t-1)). Evaluating f and J_t at every guessed state needs no recurrence
(the guesses are known), so it is one matmul over all steps; what is left is a *linear*
recurrence h_t = J_t h_(t-1) + b_t, and linear maps compose associatively, so a scan solves
it in O(log T) depth, as for minGRU. The nonlinearity moves into the outer iteration: each
Newton step makes at least one more state exact (T iterations always suffice), and with the
true Jacobian convergence near the answer is quadratic, so a handful usually do. The price:
the J_t of a GRU or LSTM are dense H x H matrices (the scan's work grows as H^3 log T), or,
kept diagonal, each iteration is cheap but more are needed; and the gradient is the same
linear recurrence run backwards (the adjoint), so training parallelises too."""


def measure_newton(config: RevivalConfig, run: Run, cells: tuple[str, ...]) -> dict:
    """{"speed": {T: {variant: {...}}}, "convergence": {cell: ...}}: the training step of a
    1-layer GRU LM by Newton against T, and Newton's convergence on the quality runs' own
    trained GRU / LSTM (and the same shapes as initialised)."""
    speed = {}
    with torch_threads(config.speed_threads):
        for steps in config.newton_speed_lengths:
            times, iterations = time_newton(steps, NEWTON_VARIANTS, config.speed_batch,
                                            config.speed_embed, config.newton_hidden,
                                            config.speed_repeats)
            speed[steps] = {v: {"ms_per_step": 1000 * statistics.median(ts),
                                "vs_torch_gru": median_ratio(times, "torch-gru", v),
                                "vs_seqlm_gru": median_ratio(times, "seqlm-gru", v),
                                "iterations": iterations[v]} for v, ts in times.items()}
        convergence = {cell: checkpoint_convergence(run.path / "revival" / cell,
                                                    config.newton_lengths,
                                                    config.newton_windows)
                       for cell in cells if cell in ("gru", "lstm")}
    return {"speed": speed, "convergence": convergence}


def _newton_rows(cell: str, measured: dict) -> list[str]:
    rows = []
    for steps, by_model in ((k, v) for k, v in measured.items() if isinstance(k, int)):
        for model, layers in by_model.items():
            for layer, m in enumerate(layers):
                full, diag = m["full"], m["diagonal"]
                rows.append(f"| {cell} {model} | {steps} | {layer} | {full['to_target']} | "
                            f"{full['by_rule']} ({full['rule_error']:.1e}) | "
                            f"{diag['to_target']} | {diag['by_rule']} "
                            f"({diag['rule_error']:.1e}) |")
    return rows


def newton_text(config: RevivalConfig, newton: dict) -> list[str]:
    lines = ["### Newton over the sequence: the nonlinear GRU and LSTM in parallel", "",
             WHY_NEWTON, "", f"Convergence on validation windows ({config.newton_windows} "
             f"rows, zero guess, float32) of the quality runs' own models, trained and as "
             f"initialised: iterations until max |h_newton - h_sequential| <= {TARGET:g}, the "
             "iterations the stopping rule (residual <= 1e-5) takes and the error it leaves; "
             "Newton (full Jacobian) and quasi-Newton (its diagonal). ParaRNN reports about "
             "3 Newton iterations for its cells.", "",
             "| model | T | layer | Newton to 1e-5 | by rule (error) | quasi to 1e-5 | "
             "by rule (error) |", "|---|---|---|---|---|---|---|"]
    for cell, measured in newton["convergence"].items():
        lines += _newton_rows(cell, measured)
    lines += ["", f"Training step (forward, backward, Adam) of a 1-layer GRU char LM, B "
              f"{config.speed_batch}, H {config.newton_hidden}, {config.speed_threads} torch "
              "thread(s), weights as initialised: ms per step and the median ratio against "
              "torch.nn.GRU in the same run (> 1 faster); Newton's iterations in brackets:", "",
              "| T | " + " | ".join(NEWTON_VARIANTS) + " |",
              "|---" * (len(NEWTON_VARIANTS) + 1) + "|"]
    for steps, row in newton["speed"].items():
        lines.append(f"| {steps} | " + " | ".join(
            f"{row[v]['ms_per_step']:,.1f} (x{row[v]['vs_torch_gru']:.2f})"
            + (f" [{row[v]['iterations']}]" if v.startswith("newton") else "")
            for v in NEWTON_VARIANTS) + " |")
    longest = max(newton["speed"])
    row = newton["speed"][longest]
    loop, scan = row["newton-loop"]["vs_seqlm_gru"], row["newton-scan"]["vs_seqlm_gru"]
    won = max(loop, scan) > 1
    lines += ["", f"- At T = {longest}, Newton with step-by-step solves runs at x{loop:.2f} and "
              f"with the matrix scan at x{scan:.2f} the speed of seqlm's own sequential GRU "
              f"here ({'a win' if won else 'a loss'}). Each Newton iteration with step-by-step "
              "solves costs about one sequential pass plus the all-steps matmuls, and the scan "
              "pays O(H^3 log T) work for its O(log T) depth"
              + ("" if won else ": on this machine the idea does not pay; it is built for a "
                 "parallel device") + " (benchmarks/bench_newton.py, docs/newton.md)."]
    return lines


def lab_step(ctx: LabContext) -> LabSection:
    config = merge(RevivalConfig(), *(QUICK_REVIVAL if ctx.config.quick else ()),
                   {"compare": lab_settings(ctx)})
    tensorboard = None if ctx.tensorboard is None else ctx.tensorboard / "revival"
    return revival(config, ctx.run, ctx.progress, tensorboard)


def revival(config: RevivalConfig, run: Run, progress: ProgressCallback | None = None,
            tensorboard: Path | None = None) -> LabSection:
    started = time.perf_counter()
    speed = measure_speed(config, progress)
    timed = {"speed": time.perf_counter() - started}
    errors = scan_errors(config.precision_lengths, config.precision_batch,
                         config.precision_hidden, config.compare.train.model.scan_chunk,
                         config.compare.train.seed)
    timed["precision"] = time.perf_counter() - started - sum(timed.values())
    quality = compare(config.compare, run, progress, folder="revival", tensorboard=tensorboard)
    timed["quality"] = time.perf_counter() - started - sum(timed.values())
    newton = measure_newton(config, run, config.compare.cells)
    timed["newton"] = time.perf_counter() - started - sum(timed.values())
    text = [*speed_table(config, speed), "", *precision_table(errors), "",
            *verdict(speed, errors, quality.metrics), "", LOST, "",
            "### Quality at equal time", "",
            f"`seqlm compare --cells {' '.join(config.compare.cells)} --minutes "
            f"{config.compare.train.engine.max_minutes:g}` (at the lab's settings):", "",
            quality.markdown, "",
            *newton_text(config, newton)]
    return LabSection("How recurrence came back: minGRU and minLSTM", "\n".join(text),
                      metrics={"speed": speed, "precision": errors, "quality": quality.metrics,
                               "newton": newton,
                               "seconds": {k: round(v, 2) for k, v in timed.items()}})

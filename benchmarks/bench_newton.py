"""Does Newton's method over the sequence pay? Wall time of a training step (forward, backward,
Adam) of a one-layer char GRU LM solved by Newton (`--recurrence newton`) against seqlm's
sequential GRU and torch.nn.GRU, as T grows, measured in the same run.

    seqlm-gru     seqlm's GRU layer, the default sequential path
    newton-loop   Newton, full Jacobian, each linear recurrence solved step by step
    newton-scan   Newton, full Jacobian, each linear recurrence by the log-depth matrix scan
                  (O(T H^3 log T) work and (B, T, H, H) memory: skipped above --scan-max-t)
    torch-gru     torch.nn.GRU (oneDNN on CPU, cuDNN on a GPU): the reference of the ratios

The variants run interleaved, once each per repeat after a warm-up call; the ratios are taken
within a repeat and their median printed (> 1: faster than torch.nn.GRU), with the Newton
iterations of the last step (the weights are as initialised, the harder trained case is in
docs/newton.md). `seqlm.lab.newton_measure` holds the timing, shared with `seqlm lab`.

    python benchmarks/bench_newton.py                          # CPU, T = 256, 1024, 4096
    python benchmarks/bench_newton.py --lengths 256 --repeats 3   # a quick run
    python benchmarks/bench_newton.py --gpu-quick              # the prepared GPU run
    python benchmarks/bench_newton.py --convergence RUN --lengths 64 256 1024

`--convergence RUN` measures instead, on a trained GRU / LSTM LM's run directory (and the same
architecture freshly initialised), the Newton iterations until max |h_newton - h_seq| <= 1e-5
in float32 on the first `--windows` x T tokens of its validation split, full Jacobian and
diagonal, and the iterations and error of the stopping rule (residual <= 1e-5).
"""

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.lab.newton_measure import (  # noqa: E402
    NEWTON_VARIANTS,
    checkpoint_convergence,
    time_newton,
)
from seqlm.lab.scan_speed import REFERENCE, median_ratio  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402


def report(steps: int, times: dict, iterations: dict, args) -> None:
    print(f"\nT = {steps}  (B = {args.batch}, E = {args.embed}, H = {args.hidden}; medians of "
          f"{args.repeats} interleaved repeats)")
    print(f"  {'variant':<12} {'ms/step':>10} {'vs torch-gru':>13} {'vs seqlm-gru':>13} "
          f"{'Newton iterations':>18}")
    for v, ts in times.items():
        seq = median_ratio(times, "seqlm-gru", v) if "seqlm-gru" in times else float("nan")
        print(f"  {v:<12} {1000 * statistics.median(ts):>10.1f} "
              f"{median_ratio(times, REFERENCE, v):>12.2f}x {seq:>12.2f}x "
              f"{iterations[v] if v.startswith('newton') else '-':>18}")


def show_convergence(args) -> None:
    measured = checkpoint_convergence(args.convergence, tuple(args.lengths), args.windows)
    print(f"{measured['cell']}, {measured['layers']} layer(s), H = {measured['hidden']}; "
          f"{args.windows} validation windows per T, zero guess, float32; iterations to "
          "max |h_newton - h_seq| <= 1e-5, and by the stopping rule (its error)")
    print(f"  {'model':<8} {'T':>5} {'layer':>5} {'Newton':>7} {'rule (error)':>16} "
          f"{'quasi':>6} {'rule (error)':>16}   Newton's error after k = 1, 2, ...")
    for steps in args.lengths:
        for model, layers in measured.get(steps, {}).items():
            for k, m in enumerate(layers):
                full, diag = m["full"], m["diagonal"]
                print(f"  {model:<8} {steps:>5} {k:>5} {full['to_target']!s:>7} "
                      f"{full['by_rule']:>5} ({full['rule_error']:.1e}) "
                      f"{diag['to_target']!s:>6} {diag['by_rule']:>5} "
                      f"({diag['rule_error']:.1e})   "
                      + " ".join(f"{e:.0e}" for e in full["errors"][:10]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--scan-max-t", type=int, default=1024, help="newton-scan only up to this T")
    p.add_argument("--device", default="cpu")
    p.add_argument("--gpu-quick", action="store_true", help="cuda, T = 256 1024 4096, B 16, "
                   "H 128, 3 repeats, the scan at every T")
    p.add_argument("--convergence", metavar="RUN", help="a GRU / LSTM LM run: its convergence")
    p.add_argument("--windows", type=int, default=8, help="--convergence: rows per T")
    args = p.parse_args()
    if args.convergence:
        torch.set_num_threads(args.threads)
        return show_convergence(args)
    if args.gpu_quick:
        args.device, args.batch, args.hidden, args.repeats = "cuda", 16, 128, 3
        args.scan_max_t = max(args.lengths)
    torch.set_num_threads(args.threads)
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else cpu_name()
    print(f"{device_name}; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    for steps in args.lengths:
        variants = tuple(v for v in NEWTON_VARIANTS
                         if v != "newton-scan" or steps <= args.scan_max_t)
        times, iterations = time_newton(steps, variants, args.batch, args.embed, args.hidden,
                                        args.repeats, args.device)
        report(steps, times, iterations, args)
        if "newton-scan" not in variants:
            print(f"  newton-scan skipped: T > --scan-max-t {args.scan_max_t} (its (B, T, H, H) "
                  "products)")


if __name__ == "__main__":
    main()

"""Does the parallel scan pay? Training speed of minGRU's three paths against torch.nn.GRU,
torch.nn.LSTM and seqlm's GRU / LSTM layers, as T grows, measured in the same run.

One training step (forward, backward, Adam) of a one-layer char LM: embedding E -> layer H ->
projection to V = 65, cross-entropy, batch B, sequence length T; every variant at the same H
(the variants and the timing rules: `seqlm.lab.scan_speed`, shared with `seqlm lab`):

    mingru-seq      seqlm MinGRU, sequential path (one addcmul per step, written-out backward)
    mingru-log      seqlm MinGRU, log-space parallel scan (Heinsen: cumsum + logcumsumexp)
    mingru-chunk    seqlm MinGRU, chunked scan (log form inside 64-step chunks, carry between)
    torch-gru       torch.nn.GRU (oneDNN on CPU, cuDNN on a GPU)
    torch-lstm      torch.nn.LSTM
    seqlm-gru       seqlm.nn.GRU (per-step autograd loop)
    seqlm-lstm      seqlm.nn.LSTM (its fused whole-sequence node)

For every T the variants run interleaved, once each per repeat, after one warm-up call each;
ratios are taken within each repeat, so load from other jobs on a shared machine hits both
sides alike, and the median over repeats is printed. Reported: wall milliseconds per sequence
(step time / B), training tokens/s (B * T / step time), the ratio against torch.nn.GRU and
torch.nn.LSTM (> 1 = faster), and the scan paths against minGRU's own loop. `--precision`
adds the paths' float32 error against float64 as T grows.

    python benchmarks/bench_parallel_rnn.py                 # CPU, T = 128 ... 4096 (minutes)
    python benchmarks/bench_parallel_rnn.py --max-t 512     # a quick CPU run
    python benchmarks/bench_parallel_rnn.py --gpu-quick     # the prepared GPU run (< 3 min)
    python benchmarks/bench_parallel_rnn.py --device cuda --batch 32 --hidden 512
    python benchmarks/bench_parallel_rnn.py --precision --lengths   # float32 error only
    python benchmarks/bench_parallel_rnn.py --equal-parameters --lengths  # compare's shape

`--equal-parameters` times instead the LMs of `seqlm compare` (every cell at the LSTM's
parameter count, 2 layers, B 32, T 64): what decides how many steps each gets at equal time.
"""

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.lab.scan_speed import (  # noqa: E402
    REFERENCE,
    VARIANTS,
    median_ratio,
    scan_errors,
    time_variants,
)

LENGTHS = (128, 256, 512, 1024, 2048, 4096)
PRECISION_LENGTHS = (64, 256, 1024, 4096, 16384, 65536)


def report(steps: int, times: dict[str, list[float]], args) -> None:
    print(f"\nT = {steps}  (B = {args.batch}, H = {args.hidden}; medians of {args.repeats})")
    refs = [r for r in (REFERENCE, "torch-lstm") if r in times]
    print(f"  {'variant':<13} {'ms/sequence':>12} {'tokens/s':>11}"
          + "".join(f" {'vs ' + r:>14}" for r in refs))
    for v, ts in times.items():
        seconds = statistics.median(ts)
        print(f"  {v:<13} {1000 * seconds / args.batch:>12.2f} "
              f"{args.batch * steps / seconds:>11,.0f}"
              + "".join(f" {f'x{median_ratio(times, r, v):.2f}':>14}" for r in refs))
    if "mingru-seq" in times:
        for scan in ("mingru-log", "mingru-chunk"):
            if scan in times:
                r = median_ratio(times, "mingru-seq", scan)
                print(f"  {scan} against mingru-seq: x{r:.2f} ({'wins' if r > 1 else 'loses'})")
    sys.stdout.flush()


def precision(args) -> None:
    lengths = tuple(t for t in PRECISION_LENGTHS if args.max_t is None or t <= args.max_t)
    errors = scan_errors(lengths, batch=4, hidden=64, chunk=64)
    print("\nfloat32 against the float64 loop, max |h32 - h64| / max |h64| "
          "(u, v ~ N(0, 1), B 4, H 64, chunk 64)")
    print(f"  {'T':>7}" + "".join(f" {name:>12}" for name in errors))
    for steps in lengths:
        print(f"  {steps:>7}" + "".join(f" {errors[n][steps]:>12.2e}" for n in errors))


def equal_parameters(repeats: int) -> None:
    """Training steps of the compare's five LMs, interleaved; ratios against the LSTM's."""
    from seqlm.config import CompareConfig
    from seqlm.lab.compare import cell_model
    from seqlm.lab.scan_speed import VOCAB, step_seconds
    from seqlm.nn.lm import RecurrentLM

    config = CompareConfig().train
    cells = ("lstm", "rnn", "gru", "mingru", "minlstm")
    lms = {c: cell_model(config.model, c, VOCAB) for c in cells}
    hidden = {c: lm.hidden_size for c, lm in lms.items()}
    models = {}
    for c in cells:
        torch.manual_seed(0)
        models[c] = RecurrentLM(VOCAB, lms[c])
    opts = {c: torch.optim.Adam(m.parameters(), lr=config.engine.schedule.lr)
            for c, m in models.items()}
    g = torch.Generator().manual_seed(0)
    x, y = (torch.randint(0, VOCAB, (config.batch_size, config.window), generator=g)
            for _ in range(2))
    times: dict[str, list[float]] = {c: [] for c in cells}
    for _ in range(repeats + 1):  # the first round warms up
        for c in cells:
            times[c].append(step_seconds(models[c], opts[c], x, y))
    times = {c: ts[1:] for c, ts in times.items()}
    tokens = config.batch_size * config.window
    print(f"\nequal parameters (seqlm compare's LMs, B {config.batch_size}, T {config.window}, "
          f"{config.model.num_layers} layers; medians of {repeats})")
    for c in cells:
        print(f"  {c:<8} H={hidden[c]:<4} {tokens / statistics.median(times[c]):>9,.0f} "
              f"tokens/s  x{median_ratio(times, 'lstm', c):.2f} vs lstm")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--gpu-quick", action="store_true",
                   help="the prepared GPU run: cuda, B 16, H 256, T 128 ... 4096, 3 repeats")
    p.add_argument("--max-t", type=int, default=None, help="only lengths up to this T")
    p.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="CPU torch threads")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--precision", action="store_true",
                   help="also print float32 error against float64 for T up to 65536")
    p.add_argument("--equal-parameters", action="store_true",
                   help="also time seqlm compare's LMs (every cell at ~245k parameters)")
    args = p.parse_args()
    if args.gpu_quick:
        args.device, args.batch, args.hidden, args.repeats = "cuda", 16, 256, 3
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda / --gpu-quick: no CUDA device here")
    if args.max_t is not None:
        args.lengths = [t for t in args.lengths if t <= args.max_t]
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"CPU, {args.threads} thread(s)"
    print(f"torch {torch.__version__} on {where}; one training step (forward, backward, Adam) "
          f"of a 1-layer char LM, E {args.embed}, H {args.hidden}, V 65, B {args.batch}; "
          "wall clock; ratio = reference time / variant time, per repeat, median")
    variants = tuple(args.variants)
    for steps in args.lengths:
        report(steps, time_variants(steps, variants, args.batch, args.embed, args.hidden,
                                    args.repeats, args.device), args)
    if args.precision:
        precision(args)
    if args.equal_parameters:
        equal_parameters(max(args.repeats, 15))


if __name__ == "__main__":
    main()

"""Does the parallel scan pay? Training speed of minGRU's three paths against torch.nn.GRU,
torch.nn.LSTM and seqlm's GRU / LSTM layers, as T grows, measured in the same run.

One training step (forward, backward, Adam) of a one-layer char LM: embedding E -> layer H ->
projection to V = 65, cross-entropy, batch B, sequence length T; every variant at the same H.

    mingru-seq      seqlm MinGRU, sequential path (one addcmul per step, written-out backward)
    mingru-log      seqlm MinGRU, log-space parallel scan (Heinsen: cumsum + logcumsumexp)
    mingru-chunk    seqlm MinGRU, chunked scan (log form inside 64-step chunks, carry between)
    torch-gru       torch.nn.GRU (oneDNN on CPU, cuDNN on a GPU)
    torch-lstm      torch.nn.LSTM
    seqlm-gru       seqlm.nn.GRU (per-step autograd loop)
    seqlm-lstm      seqlm.nn.LSTM (its fused whole-sequence node)

For every T the variants run interleaved, once each per repeat, after one warm-up call each;
the ratio against torch.nn.GRU is taken within each repeat, so load from other jobs on a
shared machine hits both sides alike, and the median over repeats is printed. Reported: wall
milliseconds per sequence (step time / B), training tokens/s (B * T / step time), the ratio
(> 1 = faster than torch.nn.GRU), and the scan paths against minGRU's own loop.

    python benchmarks/bench_parallel_rnn.py                 # CPU, T = 128 ... 4096 (minutes)
    python benchmarks/bench_parallel_rnn.py --max-t 512     # a quick CPU run
    python benchmarks/bench_parallel_rnn.py --gpu-quick     # the prepared GPU run (< 3 min)
    python benchmarks/bench_parallel_rnn.py --device cuda --batch 32 --hidden 512
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.config import LMConfig  # noqa: E402
from seqlm.nn.lm import RecurrentLM  # noqa: E402

V = 65
LENGTHS = (128, 256, 512, 1024, 2048, 4096)
VARIANTS = ("mingru-seq", "mingru-log", "mingru-chunk", "torch-gru", "torch-lstm",
            "seqlm-gru", "seqlm-lstm")
REFERENCE = "torch-gru"
SEQLM = {"mingru-seq": ("mingru", "sequential"), "mingru-log": ("mingru", "log"),
         "mingru-chunk": ("mingru", "chunked"), "seqlm-gru": ("gru", "sequential"),
         "seqlm-lstm": ("lstm", "sequential")}


class TorchLM(nn.Module):
    """The same LM around torch.nn.GRU / LSTM."""

    def __init__(self, layer: type[nn.Module], embed: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(V, embed)
        self.rnn = layer(embed, hidden, 1, batch_first=True)
        self.proj = nn.Linear(hidden, V)

    def forward(self, idx, targets):
        out, _ = self.rnn(self.embedding(idx))
        logits = self.proj(out)
        return logits, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)), None


def make(variant: str, embed: int, hidden: int, device: str) -> nn.Module:
    torch.manual_seed(0)
    if variant in SEQLM:
        cell, scan = SEQLM[variant]
        model = RecurrentLM(V, LMConfig(cell=cell, scan=scan, embedding_dim=embed,
                                        hidden_size=hidden, num_layers=1, dropout=0.0))
    else:
        model = TorchLM(nn.GRU if variant == "torch-gru" else nn.LSTM, embed, hidden)
    return model.to(device)


def step_seconds(model, opt, x, y, device: str) -> float:
    """One training step, wall clock (the GPU synchronised before and after)."""
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    _, loss, _ = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_length(steps: int, args) -> dict[str, list[float]]:
    """Interleaved repeats of every variant at sequence length `steps`."""
    g = torch.Generator().manual_seed(steps)
    x = torch.randint(0, V, (args.batch, steps), generator=g).to(args.device)
    y = torch.randint(0, V, (args.batch, steps), generator=g).to(args.device)
    models = {v: make(v, args.embed, args.hidden, args.device) for v in args.variants}
    opts = {v: torch.optim.Adam(m.parameters(), lr=1e-3) for v, m in models.items()}
    for v in args.variants:  # warm-up: allocator, oneDNN / cuDNN plans
        step_seconds(models[v], opts[v], x, y, args.device)
    times: dict[str, list[float]] = {v: [] for v in args.variants}
    for _ in range(args.repeats):
        for v in args.variants:
            times[v].append(step_seconds(models[v], opts[v], x, y, args.device))
    return times


def ratio(times: dict[str, list[float]], reference: str, variant: str) -> float:
    """Median over repeats of reference time / variant time (> 1: the variant is faster)."""
    return statistics.median(r / t for r, t in zip(times[reference], times[variant],
                                                   strict=True))


def report(steps: int, times: dict[str, list[float]], args) -> None:
    print(f"\nT = {steps}  (B = {args.batch}, H = {args.hidden}; medians of {args.repeats})")
    print(f"  {'variant':<13} {'ms/sequence':>12} {'tokens/s':>11} {'vs torch-gru':>13}")
    for v, ts in times.items():
        seconds = statistics.median(ts)
        vs = f"x{ratio(times, REFERENCE, v):.2f}" if REFERENCE in times else "-"
        print(f"  {v:<13} {1000 * seconds / args.batch:>12.2f} "
              f"{args.batch * steps / seconds:>11,.0f} {vs:>13}")
    if "mingru-seq" in times:
        for scan in ("mingru-log", "mingru-chunk"):
            if scan in times:
                r = ratio(times, "mingru-seq", scan)
                verdict = "wins" if r > 1 else "loses"
                print(f"  {scan} against mingru-seq: x{r:.2f} ({verdict})")
    sys.stdout.flush()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--gpu-quick", action="store_true",
                   help="the prepared GPU run: cuda, B 16, H 256, T 128 ... 4096, 3 repeats")
    p.add_argument("--max-t", type=int, default=None, help="only lengths up to this T")
    p.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="CPU torch threads")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
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
          f"of a 1-layer char LM, E {args.embed}, H {args.hidden}, V {V}, B {args.batch}; "
          "wall clock; ratio = torch.nn.GRU time / variant time, per repeat, median")
    for steps in args.lengths:
        report(steps, bench_length(steps, args), args)


if __name__ == "__main__":
    main()

"""Training and batch-1 sampling throughput of a char LM: torch.nn vs seqlm's fused layers
(eager ops and compiled kernels) vs seqlm's cells, in every precision asked for, measured in the
same run; ratios against torch.nn in fp32 and in the variant's own precision, and the share of
the machine's measured matrix-product peaks that each reaches.

Training: embedding 128, 2 layers of H (256 and 512), batch 64, window 100, vocabulary 65
(Tiny Shakespeare's characters), Adam; tokens per second of forward + backward + step, for
    torch      `--backend torch`: torch.nn.LSTM/GRU/RNN (oneDNN's fused kernels on the CPU)
    eager      seqlm's fused layers, each step's elementwise work as torch ops (`--kernels eager`)
    compiled   the same with the compiled step kernels (`--kernels compiled`, seqlm.nn.fast)
    graphed    on a GPU instead of compiled: eager's forward and backward captured as CUDA
               graphs (seqlm.nn.fast.graphs), replayed each step
    cells      seqlm's textbook cells stepped one time step at a time (--cells-too)
each in every --precision: fp32, or bf16 / fp16 under torch.autocast (torch.nn then runs
oneDNN's / cuDNN's reduced-precision kernel; seqlm's fused layers keep the state and the
pointwise work in fp32 and, on the CPU in bf16, run their matrix products in bf16).
Sampling: characters per second generating at batch 1, one character per call (fp32):
    torch      torch.nn.LSTM/GRU/RNN called on (1, 1, E) each step (default settings, no_grad)
    cells      seqlm's cells, one per layer, under no_grad
    eager, compiled   seqlm's `RecurrentLM.stepper()` under inference_mode (`seqlm sample`)
"x torch fp32" is torch.nn fp32's time over the variant's (>1 is faster), "x torch" the same
against torch.nn in the variant's precision. "% peak" is the variant's matrix-product FLOP
rate (forward and backward products of the recurrence and the projection: 3 x 2 x T*B x (sum
over layers of (E_l + H) G H + H V) per training step) over the machine's peak in the
variant's dtype: the best rate, at the benchmark's thread count, over a few representative
products (squares of 1024 and 2048, and the (T*B, H) x (H, G*H) input projection of every H,
each through torch.matmul and through oneDNN's prepacked linear, the path seqlm's layers use).
"% step" is the same rate over the rate of one recurrent step's (B, H) x (H, G*H) product,
measured separately: a recurrence cannot beat its serial step products, so this is the
nearer ceiling. The variants are interleaved in every repeat and the ratio is taken per
repeat, so load from other processes on a shared machine hits both sides alike; medians.

    python benchmarks/bench_rnn_lm.py                    # fp32 and bf16, about 10 minutes
    python benchmarks/bench_rnn_lm.py --quick            # a smoke run
    python benchmarks/bench_rnn_lm.py --threads 1 --clock cpu   # steadier on a shared CPU
    python benchmarks/bench_rnn_lm.py --device cuda --precision fp32 bf16   # on a GPU
"""

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.config import LMConfig  # noqa: E402
from seqlm.nn.cells import GRUCell, LSTMCell, RNNCell  # noqa: E402
from seqlm.nn.lm import RecurrentLM  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402
from seqlm.training.devices import DTYPES, Placement  # noqa: E402

V, E, B, T, LAYERS = 65, 128, 64, 100, 2
CLOCK = [time.perf_counter]  # --clock cpu: this process's CPU time (steadier on a shared CPU)
DEVICE = [torch.device("cpu")]  # --device
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def now() -> float:
    """The clock, after the device has finished what was queued (CUDA runs asynchronously)."""
    if DEVICE[0].type == "cuda":
        torch.cuda.synchronize(DEVICE[0])
    return CLOCK[0]()


CELLS = {"lstm": LSTMCell, "gru": GRUCell, "rnn": RNNCell}


class CellsLM(nn.Module):
    """The same LM stepping seqlm's cells one time step at a time (x[:, t] per step)."""

    def __init__(self, cell: str, hidden: int):
        super().__init__()
        self.cell = cell
        self.embedding = nn.Embedding(V, E)
        self.cells = nn.ModuleList([CELLS[cell](E if i == 0 else hidden, hidden)
                                    for i in range(LAYERS)])
        self.proj = nn.Linear(hidden, V)

    def step(self, x, states):
        new = []
        for cell, s in zip(self.cells, states, strict=True):
            s = cell(x, s)
            new.append(s)
            x = s[0] if isinstance(s, tuple) else s
        return x, new

    def forward(self, idx, targets=None, state=None):
        x = self.embedding(idx)
        states = state or [None] * LAYERS
        outs = []
        for t in range(idx.shape[1]):
            h, states = self.step(x[:, t], states)
            outs.append(h)
        logits = self.proj(torch.stack(outs, 1))
        loss = None if targets is None else F.cross_entropy(logits.reshape(-1, V),
                                                            targets.reshape(-1))
        return logits, loss, states


@dataclass(frozen=True)
class Variant:
    """An implementation in a precision: ("compiled", Placement(cpu, bf16)) and so on."""

    impl: str  # torch, cells or fast
    place: Placement

    @property
    def name(self) -> str:
        return f"{self.impl} {self.place.precision}"


IMPLS = {"torch": {"backend": "torch"}, "eager": {"kernels": "eager"},  # LMConfig fields
         "compiled": {"kernels": "compiled"}, "graphed": {"kernels": "eager"}}


def make(impl: str, cell: str, hidden: int) -> nn.Module:
    torch.manual_seed(0)
    if impl == "cells":
        model = CellsLM(cell, hidden)
    else:
        model = RecurrentLM(V, LMConfig(cell=cell, embedding_dim=E, hidden_size=hidden,
                                        num_layers=LAYERS, dropout=0.0, **IMPLS[impl]))
    return model.to(DEVICE[0])


def autocast(variant: Variant):
    """The variant's autocast; a graphed variant's keeps no cast cache (torch requires it)."""
    if variant.impl == "graphed" and variant.place.precision != "fp32":
        return torch.autocast(DEVICE[0].type, dtype=DTYPES[variant.place.precision],
                              cache_enabled=False)
    return variant.place.autocast()


def graphed(variant: Variant, model, x):
    """`model` captured as CUDA graphs at x's shape (seqlm.nn.fast.graphs), called as a
    model: idx -> (logits, None, state)."""
    from seqlm.nn.fast.graphs import graphed_lm

    with autocast(variant):
        replay = graphed_lm(model, x)
    return lambda idx: (replay(idx)[0], None, None)


def train_seconds(variant: Variant, model, opt, scaler, x, y) -> float:
    start = now()
    with autocast(variant):
        logits, _, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, V).float(), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return now() - start


def sample_seconds(impl: str, model, n: int) -> float:
    """Seconds to generate n characters at batch 1, greedy (the choice is not the point)."""
    token = torch.tensor([5], device=DEVICE[0])
    start = now()
    if impl == "torch":
        with torch.no_grad():
            state = None
            for _ in range(n):
                out, state = model.rnn(model.embedding(token)[:, None], state)  # (1, 1, H)
                token = model.proj(out[:, 0]).argmax(-1)
    elif impl == "cells":
        with torch.no_grad():
            states = [None] * LAYERS
            for _ in range(n):
                h, states = model.step(model.embedding(token), states)
                token = model.proj(h).argmax(-1)
    else:
        with torch.inference_mode():
            stepper, states = model.stepper(), None
            for _ in range(n):
                logits, states = stepper(token, states)
                token = logits.argmax(-1)
    return now() - start


def bench_training(cell: str, hidden: int, variants: list[Variant], repeats: int) -> dict:
    x = torch.randint(0, V, (B, T), device=DEVICE[0])
    y = torch.randint(0, V, (B, T), device=DEVICE[0])
    models = {v: make(v.impl, cell, hidden) for v in variants}
    opts = {v: torch.optim.Adam(m.parameters(), lr=1e-3) for v, m in models.items()}
    scalers = {v: v.place.scaler() for v in variants}
    calls = {v: graphed(v, m, x) if v.impl == "graphed" else m for v, m in models.items()}
    for v in variants:  # warm-up: allocator, oneDNN / cuDNN primitives
        train_seconds(v, calls[v], opts[v], scalers[v], x, y)
    times = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            times[v].append(train_seconds(v, calls[v], opts[v], scalers[v], x, y))
    return times


def bench_sampling(cell: str, hidden: int, variants: list[Variant], repeats: int,
                   n: int) -> dict:
    models = {v: make(v.impl, cell, hidden).eval() for v in variants}
    for v in variants:
        sample_seconds(v.impl, models[v], 20)
    times = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            times[v].append(sample_seconds(v.impl, models[v], n))
    return times


def training_flops(cell: str, hidden: int) -> float:
    """Matrix-product FLOPs of one training step: forward, input and weight gradients."""
    layers = sum((E if layer == 0 else hidden) + hidden for layer in range(LAYERS))
    return 3 * 2 * T * B * (layers * GATES[cell] * hidden + hidden * V)


def product_rate(rows: int, inner: int, cols: int, dtype: torch.dtype, repeats: int = 7
                 ) -> float:
    """The best FLOP rate of (rows, inner) x (inner, cols) in dtype, through torch.matmul
    and (on the CPU) through oneDNN's prepacked linear, seqlm's fused layers' path."""
    from seqlm.nn.fast.matmul import prepacked_linear

    x = torch.randn(rows, inner, device=DEVICE[0]).to(dtype)
    w = torch.randn(cols, inner, device=DEVICE[0]).to(dtype)
    w_t = w.t().contiguous()
    best = float("inf")
    for way in (lambda a: a @ w_t, prepacked_linear(w, rows, dtype=dtype)):
        way(x)  # warm-up
        for _ in range(repeats):
            start = now()
            way(x)
            best = min(best, now() - start)
    return 2 * rows * inner * cols / best


def matmul_peak(dtype: torch.dtype, hiddens: list[int], cells: list[str]) -> float:
    """The machine's peak in dtype: the best of squares of 1024 and 2048 and every
    (T*B, H) x (H, G*H) input projection of the run."""
    shapes = [(1024, 1024, 1024), (2048, 2048, 2048)] + \
        [(T * B, h, GATES[c] * h) for h in hiddens for c in cells]
    return max(product_rate(*shape, dtype) for shape in shapes)


def step_peak(dtype: torch.dtype, hidden: int, cell: str) -> float:
    """The rate of one recurrent step's (B, H) x (H, G*H) product in dtype."""
    return product_rate(B, hidden, GATES[cell] * hidden, dtype, repeats=20)


def rows(kind: str, cell: str, hidden: int, times: dict, units: float,
         peaks: dict | None = None, step_peaks: dict | None = None) -> None:
    """One table row per variant: rate, ratios against torch.nn in fp32 and in the variant's
    precision, shares of the peaks. The first variant is torch.nn in fp32."""
    variants = list(times)
    for v, ts in times.items():
        rate = units / statistics.median(ts)
        same = next(r for r in variants if r.impl == "torch" and r.place == v.place)
        ratios = [statistics.median(r / t for r, t in zip(times[ref], ts, strict=True))
                  for ref in (variants[0], same)]
        shares = ["", ""]
        if peaks is not None:
            flops = training_flops(cell, hidden) / statistics.median(ts)
            shares = [f"{100 * flops / peaks[v.place.precision]:.0f}%",
                      f"{100 * flops / step_peaks[v.place.precision]:.0f}%"]
        print(f"| {kind} | {cell} | {hidden} | {v.name} | {rate:,.0f} | {ratios[0]:.2f} | "
              f"{ratios[1]:.2f} | {shares[0]} | {shares[1]} |")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads; on a CPU shared with other jobs 1 is far steadier")
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"])
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 512])
    p.add_argument("--no-sampling", action="store_true", help="training throughput only")
    p.add_argument("--no-training", action="store_true", help="sampling throughput only")
    p.add_argument("--cells-too", action="store_true",
                   help="also train seqlm's textbook cells stepped per time step (slow)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu = process CPU time; use with --threads 1 on a busy machine")
    p.add_argument("--repeats", type=int, default=None,
                   help="interleaved repeats (default 5, --quick 2); more = steadier medians")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto")
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"],
                   choices=["fp32", "bf16", "fp16"],
                   help="training precisions (autocast on both sides); fp32 always runs: "
                        "it is the reference")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    repeats = args.repeats or (2 if args.quick else 5)
    n_chars = 100 if args.quick else 400
    precisions = ["fp32"] + [q for q in args.precision if q != "fp32"]
    places = [Placement.resolve(args.device, q) for q in precisions]
    DEVICE[0] = places[0].device
    dtypes = {q.precision: DTYPES.get(q.precision, torch.float32) for q in places}
    peaks = {q: matmul_peak(d, args.hidden, args.cells) for q, d in dtypes.items()}
    print(f"torch {torch.__version__}, {args.threads} threads, {args.clock} clock; medians of "
          f"{repeats} interleaved repeats; device {places[0].describe()}; CPU "
          f"{cpu_name()}; measured matmul peak " +
          ", ".join(f"{q} {r / 1e9:,.0f} GFLOP/s" for q, r in peaks.items()))
    print("\n| task | cell | H | variant | tokens or chars /s | x torch fp32 | x torch | "
          "% peak | % step |")
    print("|---|---|---|---|---|---|---|---|---|")
    # on a GPU the compiled kernels are CPU-only: the CUDA-graphed fused layers instead
    fused = ["eager", "graphed"] if DEVICE[0].type == "cuda" else ["eager", "compiled"]
    impls = ["torch", *fused] + (["cells"] if args.cells_too else [])
    train_variants = [Variant(i, q) for q in places for i in impls]
    for hidden in args.hidden:
        for cell in args.cells:
            if not args.no_training:
                steps = {q: step_peak(d, hidden, cell) for q, d in dtypes.items()}
                for q, rate in steps.items():  # a peak below a product seen since is no peak
                    peaks[q] = max(peaks[q], rate)
                print(f"| step product | {cell} | {hidden} | ({B}, {hidden}) x ({hidden}, "
                      f"{GATES[cell] * hidden}) | " + ", ".join(
                          f"{q} {r / 1e9:,.0f} GFLOP/s" for q, r in steps.items()) +
                      " | | | | |")
                times = bench_training(cell, hidden, train_variants, repeats)
                rows("train", cell, hidden, times, B * T, peaks, steps)
            if not args.no_sampling:
                sample_variants = [Variant(i, places[0])
                                   for i in ("torch", "cells", "eager", *fused[1:])
                                   if i != "graphed"]
                times = bench_sampling(cell, hidden, sample_variants, repeats, n_chars)
                rows("sample", cell, hidden, times, n_chars)
    print("\nmatmul peak at the end (raised by any faster product measured since): " +
          ", ".join(f"{q} {r / 1e9:,.0f} GFLOP/s" for q, r in peaks.items()))


if __name__ == "__main__":
    main()

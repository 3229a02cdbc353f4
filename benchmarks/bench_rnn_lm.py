"""Training and batch-1 sampling throughput of a char LM: torch.nn vs seqlm's cells vs seqlm's
fast path, measured in the same run; prints ratios against torch.nn.

Training: embedding 128, 2 layers of H (256 and 512), batch 64, window 100, vocabulary 65
(Tiny Shakespeare's characters), Adam; tokens per second of forward + backward + step.
Sampling: characters per second generating at batch 1, one character per call, for
    torch      torch.nn.LSTM/GRU/RNN called on (1, 1, E) each step (default settings, no_grad)
    cells      seqlm's cells, one per layer, under no_grad
    fast       seqlm's `RecurrentLM.stepper()` under inference_mode (what `seqlm sample` uses)
The variants are interleaved in every repeat and the ratio is taken per repeat, so load from
other processes on a shared machine hits both sides alike; medians over repeats are reported.

    python benchmarks/bench_rnn_lm.py                 # about 4 minutes on 2 cores
    python benchmarks/bench_rnn_lm.py --quick         # a smoke run
    python benchmarks/bench_rnn_lm.py --threads 1 --clock cpu   # steadier on a shared CPU
    python benchmarks/bench_rnn_lm.py --device cuda --precision fp32 bf16   # on a GPU

With --precision bf16 or fp16 both sides train under torch.autocast (torch.nn.LSTM then runs
cuDNN's or oneDNN's reduced-precision kernel; seqlm keeps its recurrence in fp32 and runs the
projection in the reduced dtype), and the ratio compares the same precision on both sides.
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
from seqlm.nn.cells import GRUCell, LSTMCell, RNNCell  # noqa: E402
from seqlm.nn.lm import RecurrentLM  # noqa: E402
from seqlm.training.devices import Placement  # noqa: E402

V, E, B, T, LAYERS = 65, 128, 64, 100, 2
CLOCK = [time.perf_counter]  # --clock cpu: this process's CPU time (steadier on a shared CPU)
PLACE = [Placement.resolve("cpu", "fp32")]  # --device, --precision


def now() -> float:
    """The clock, after the device has finished what was queued (CUDA runs asynchronously)."""
    if PLACE[0].device.type == "cuda":
        torch.cuda.synchronize(PLACE[0].device)
    return CLOCK[0]()
TORCH_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
CELLS = {"lstm": LSTMCell, "gru": GRUCell, "rnn": RNNCell}


class TorchLM(nn.Module):
    """The same LM around torch.nn.LSTM/GRU/RNN: the reference."""

    def __init__(self, cell: str, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = TORCH_LAYERS[cell](E, hidden, LAYERS, batch_first=True)
        self.proj = nn.Linear(hidden, V)

    def forward(self, idx, targets=None, state=None):
        out, state = self.rnn(self.embedding(idx), state)
        logits = self.proj(out)
        loss = None if targets is None else F.cross_entropy(logits.reshape(-1, V),
                                                            targets.reshape(-1))
        return logits, loss, state


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


def make(variant: str, cell: str, hidden: int) -> nn.Module:
    torch.manual_seed(0)
    if variant == "torch":
        model = TorchLM(cell, hidden)
    elif variant == "cells":
        model = CellsLM(cell, hidden)
    else:
        model = RecurrentLM(V, LMConfig(cell=cell, embedding_dim=E, hidden_size=hidden,
                                        num_layers=LAYERS, dropout=0.0))
    return model.to(PLACE[0].device)


def train_seconds(model, opt, scaler, x, y) -> float:
    start = now()
    with PLACE[0].autocast():
        logits, _, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, V).float(), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return now() - start


def sample_seconds(variant: str, model, n: int) -> float:
    """Seconds to generate n characters at batch 1, greedy (the choice is not the point)."""
    token = torch.tensor([5], device=PLACE[0].device)
    start = now()
    if variant == "torch":
        with torch.no_grad():
            state = None
            for _ in range(n):
                out, state = model.rnn(model.embedding(token)[:, None], state)  # (1, 1, H)
                token = model.proj(out[:, 0]).argmax(-1)
    elif variant == "cells":
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


def bench_training(cell: str, hidden: int, variants: list[str], repeats: int) -> dict:
    x = torch.randint(0, V, (B, T), device=PLACE[0].device)
    y = torch.randint(0, V, (B, T), device=PLACE[0].device)
    models = {v: make(v, cell, hidden) for v in variants}
    opts = {v: torch.optim.Adam(m.parameters(), lr=1e-3) for v, m in models.items()}
    scalers = {v: PLACE[0].scaler() for v in variants}
    for v in variants:  # warm-up: allocator, oneDNN / cuDNN primitives
        train_seconds(models[v], opts[v], scalers[v], x, y)
    times = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            times[v].append(train_seconds(models[v], opts[v], scalers[v], x, y))
    return times


def bench_sampling(cell: str, hidden: int, variants: list[str], repeats: int, n: int) -> dict:
    models = {v: make(v, cell, hidden).eval() for v in variants}
    for v in variants:
        sample_seconds(v, models[v], 20)
    times = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            times[v].append(sample_seconds(v, models[v], n))
    return times


def report(kind: str, cell: str, hidden: int, times: dict, units: float) -> None:
    ref = times["torch"]
    for v, ts in times.items():
        rate = units / statistics.median(ts)
        ratio = statistics.median(r / t for r, t in zip(ref, ts, strict=True))
        print(f"{kind:<8} {cell:<5} H={hidden:<4} {PLACE[0].precision:<5} {v:<6} "
              f"{rate:>10,.0f} /s   x{ratio:5.2f} vs torch.nn")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads; on a CPU shared with other jobs 1 is far steadier")
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"])
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 512])
    p.add_argument("--no-sampling", action="store_true", help="training throughput only")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu = process CPU time; use with --threads 1 on a busy machine")
    p.add_argument("--repeats", type=int, default=None,
                   help="interleaved repeats (default 5, --quick 2); more = steadier medians")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto")
    p.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16", "fp16"],
                   help="each precision is a separate table (autocast on both sides)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    repeats = args.repeats or (2 if args.quick else 5)
    n_chars = 100 if args.quick else 400
    print(f"torch {torch.__version__}, {args.threads} threads, {args.clock} clock; medians of "
          f"{repeats} "
          "interleaved repeats; ratio = torch.nn time / variant time (>1 is faster)")
    for precision in args.precision:
        PLACE[0] = Placement.resolve(args.device, precision)
        print(f"device {PLACE[0].describe()}")
        run_tables(args, repeats, n_chars)


def run_tables(args: argparse.Namespace, repeats: int, n_chars: int) -> None:
    for hidden in args.hidden:
        for cell in args.cells:
            variants = ["torch", "fast"] if args.quick or hidden > 256 else \
                ["torch", "cells", "fast"]
            times = bench_training(cell, hidden, variants, repeats)
            report("train", cell, hidden, times, B * T)
            if not args.no_sampling:
                times = bench_sampling(cell, hidden, ["torch", "cells", "fast"], repeats,
                                       n_chars)
                report("sample", cell, hidden, times, n_chars)


if __name__ == "__main__":
    main()

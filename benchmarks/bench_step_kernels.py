"""The LSTM's elementwise step three ways, and where a training step's time goes.

1. One LSTM step's elementwise work at B = 64, H = 512, float32 (what sits between two
   recurrent products), forward (gates -> c, tanh c, h) and backward (-> gate gradients, dc):
       eager      the torch ops of seqlm.nn.fast.lstm's loops (8 forward, 12 backward)
       inductor   the same ops as one function through torch.compile (Inductor's C++/OpenMP)
       kernel     seqlm's compiled C++ kernel (seqlm.nn.fast.kernels), one call
   Microseconds per call, medians of interleaved repeats; torch.compile's first compilation
   and the kernels' load time are printed too.
2. A profile of one training step (forward + backward) of the 2-layer LSTM, H = 512, B = 64,
   T = 100, bf16 autocast, eager ops and compiled kernels: the time by operator group
   (matrix products, elementwise, copies and casts, the rest), from torch.profiler.

    python benchmarks/bench_step_kernels.py --threads 2
    python benchmarks/bench_step_kernels.py --threads 1 --clock cpu   # on a busy machine
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.nn.fast import kernels  # noqa: E402
from seqlm.nn.recurrent import LSTM  # noqa: E402

B, H, T, E = 64, 512, 100, 512
CLOCK = [time.perf_counter]  # --clock cpu: this process's CPU time (steadier on a shared CPU)


def eager_forward(pre, c_prev, a, c_out, tanh_out, h_out):
    """The forward loop's elementwise ops (seqlm.nn.fast.lstm._forward_steps)."""
    two, minus_one = pre.new_tensor(2.0), pre.new_tensor(-1.0)
    torch.sigmoid(pre, out=a)
    i, f, g, o = a.chunk(4, dim=1)
    torch.addcmul(minus_one, g, two, out=g)
    c = torch.addcmul(f * c_prev, i, g, out=c_out)
    tanh_c = torch.mul(c, two, out=tanh_out).sigmoid_()
    torch.addcmul(minus_one, tanh_c, two, out=tanh_c)
    torch.mul(o, tanh_c, out=h_out)


def eager_backward(a, c_prev, tanh_c, dh, dc, d_act, slope, d_out):
    """The backward loop's elementwise ops (seqlm.nn.fast.lstm._backward_steps)."""
    one = a.new_ones(())
    hidden = a.shape[1] // 4
    i, f, g, o = a.chunk(4, dim=1)
    di, df, dg, do = d_act.chunk(4, dim=1)
    torch.mul(dh, tanh_c, out=do)
    dc = torch.addcmul(dc, dh * o, torch.addcmul(one, tanh_c, tanh_c, value=-1))
    torch.mul(dc, g, out=di)
    torch.mul(dc, c_prev, out=df)
    torch.mul(dc, i, out=dg)
    dc = dc * f
    torch.addcmul(a, a, a, value=-1, out=slope)
    torch.addcmul(one, g, g, value=-1, out=slope[:, 2 * hidden : 3 * hidden])
    torch.mul(d_act, slope, out=d_out)
    return dc


def functional_forward(pre, c_prev):
    """The same forward as pure functions, for torch.compile."""
    i, f, g, o = pre.chunk(4, dim=1)
    i, f, o = i.sigmoid(), f.sigmoid(), o.sigmoid()
    g = 2 * g.sigmoid() - 1
    c = f * c_prev + i * g
    tanh_c = 2 * (2 * c).sigmoid() - 1
    return torch.cat([i, f, g, o], 1), c, tanh_c, o * tanh_c


def functional_backward(a, c_prev, tanh_c, dh, dc):
    i, f, g, o = a.chunk(4, dim=1)
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    d = torch.cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                   dh * tanh_c * o * (1 - o)], 1)
    return d, dc * f


def micro(threads: int, repeats: int, calls: int) -> None:
    g = torch.Generator().manual_seed(0)
    pre, a = torch.randn(B, 4 * H, generator=g), torch.rand(B, 4 * H, generator=g)
    c_prev, dh, dc = (torch.randn(B, H, generator=g) for _ in range(3))
    outs = [torch.empty(B, H) for _ in range(3)]
    act, slope, d_out = (torch.empty(B, 4 * H) for _ in range(3))
    tanh_c = torch.rand(B, H, generator=g)
    start = time.perf_counter()
    k = kernels.load()
    print(f"kernels.load(): {time.perf_counter() - start:.2f} s (cached: a load, else a build)")
    start = time.perf_counter()
    cf = torch.compile(functional_forward, fullgraph=True, dynamic=False)
    cf(pre, c_prev)
    first_f = time.perf_counter() - start
    start = time.perf_counter()
    cb = torch.compile(functional_backward, fullgraph=True, dynamic=False)
    cb(a, c_prev, tanh_c, dh, dc)
    print(f"torch.compile first call: forward {first_f:.1f} s, backward "
          f"{time.perf_counter() - start:.1f} s")
    ways = {
        ("forward", "eager"): lambda: eager_forward(pre, c_prev, act, *outs),
        ("forward", "inductor"): lambda: cf(pre, c_prev),
        ("forward", "kernel"): lambda: k.lstm_forward(pre, c_prev, act, *outs),
        ("backward", "eager"): lambda: eager_backward(a, c_prev, tanh_c, dh, dc, act, slope,
                                                      d_out),
        ("backward", "inductor"): lambda: cb(a, c_prev, tanh_c, dh, dc),
        ("backward", "kernel"): lambda: k.lstm_backward(a, c_prev, tanh_c, dh, dc.clone(),
                                                        d_out),
    }
    times = {w: [] for w in ways}
    for _ in range(repeats):
        for w, f in ways.items():
            f()
            start = CLOCK[0]()
            for _ in range(calls):
                f()
            times[w].append((CLOCK[0]() - start) / calls * 1e6)
    print(f"\nLSTM elementwise step, B={B}, H={H}, fp32, {threads} threads, "
          f"{CLOCK[0].__name__}, medians of {repeats} x {calls} calls (backward kernel: "
          "includes a (B, H) clone)")
    print("| pass | eager us | inductor us | kernel us |\n|---|---|---|---|")
    for p in ("forward", "backward"):
        print(f"| {p} | " + " | ".join(f"{statistics.median(times[(p, w)]):.0f}"
                                      for w in ("eager", "inductor", "kernel")) + " |")


GROUPS = {"matrix products": ("linear", "mm", "addmm", "matmul", "bmm", "mkldnn"),
          "copies and casts": ("copy_", "to", "_to_copy", "clone", "contiguous", "cat",
                               "stack", "empty", "zeros", "fill_")}


def group(name: str) -> str:
    op = name.split("::")[-1]
    for label, keys in GROUPS.items():
        if any(op == k or op.startswith(k) for k in keys):
            return label
    if op in ("sigmoid", "sigmoid_", "mul", "mul_", "addcmul", "addcmul_", "add", "add_",
              "sub", "clamp_min", "sign", "lerp", "tanh", "relu_", "sum"):
        return "elementwise"
    return "the rest"


def profile(threads: int) -> None:
    x = torch.randn(B, T, E)
    for kind in ("eager", "compiled"):
        torch.manual_seed(0)
        model = LSTM(E, H, 2, batch_first=True, kernels=kind)

        def step(m=model):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out, _ = m(x)
            F.mse_loss(out, torch.zeros_like(out)).backward()

        step()
        start = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
        wall = time.perf_counter() - start
        sums: dict[str, float] = {}
        for e in prof.key_averages():
            sums[group(e.key)] = sums.get(group(e.key), 0.0) + e.self_cpu_time_total / 1e3
        start = CLOCK[0]()
        step()
        plain = CLOCK[0]() - start
        print(f"\n2x{H} LSTM training step, B={B}, T={T}, bf16, {threads} threads, {kind}: "
              f"{plain * 1e3:.0f} ms unprofiled ({CLOCK[0].__name__}), "
              f"{wall * 1e3:.0f} ms profiled (wall); self CPU ms by group: " +
              ", ".join(f"{k} {v:.0f}" for k, v in sorted(sums.items())))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu = process CPU time for the step timings; with --threads 1 on a "
                        "busy machine")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    micro(args.threads, args.repeats, args.calls)
    if not args.no_profile:
        profile(args.threads)


if __name__ == "__main__":
    main()

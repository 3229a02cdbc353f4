"""Batch-1 sampling through onnxruntime against seqlm's own batch-1 sampler, chars/s.

A char LM (vocabulary 65, embedding 128, 2 layers of 256; untrained weights, which cost the
same per step), LSTM and GRU (`--cells rnn` too). Both sides draw with
`seqlm.decoding.sampling.generate` (the one sampling rule in NumPy, temperature 0.8, the same
seed):
    torch   `RecurrentLM.stepper()` under inference_mode, what `seqlm sample` runs (its
            kernels resolved as `--kernels auto` resolves them here)
    onnx    `seqlm sample --runtime onnx`: the step exported by `seqlm export --format
            onnx` reads the prime, then the generation loop built from it
            (`seqlm.export.onnx_loop`) samples ONNX_CHUNK tokens per onnxruntime call;
            ONNX_THREADS intra-op threads, CPU provider (`--onnx-threads 1 2` runs one
            side per count)
    step    the same step graph sampled one onnxruntime call per token, the rule in NumPy
            (the ONNX path before the generation loop; on the first thread count)
Rows: "sample" times the whole `generate` call as `seqlm sample` makes it, the prime's
reading included (torch reads a prime through its sequence path, a fixed cost per call);
"loop" the same call less the prime's reading, i.e. the per-token sampling loop; "step"
the model's step alone (no sampling rule), the same token fed each step (the graph loop
has no step of its own: its row is the step graph's).
Last, per cell, the bound under both sides: the step's weight products alone on one thread
(`torch.mm` at batch 1, and a NumPy sum over as many bytes), in GB/s.
Sides are interleaved in every repeat and the ratio (onnx chars/s over torch's) is taken per
repeat, so load from other processes hits both alike; medians. The CPU model, torch's
thread count and the load average are printed.

    python benchmarks/bench_onnx.py --onnx-threads 1  # 2000 chars x 7 repeats, ~1 minute
    python benchmarks/bench_onnx.py --chars 300 --repeats 3   # a smoke run
    python benchmarks/bench_onnx.py --threads 1      # torch on one thread, as onnxruntime
    python benchmarks/bench_onnx.py --kernels eager  # against torch eager (the old sampler)
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.config import ONNX_THREADS, LMConfig, TrainConfig, to_dict  # noqa: E402
from seqlm.config.lm import BACKENDS, KERNELS  # noqa: E402
from seqlm.data.vocab import SPECIALS, Vocab  # noqa: E402
from seqlm.decoding.sampling import SamplingRule, generate  # noqa: E402
from seqlm.decoding.steppings_torch import RecurrentStepping  # noqa: E402
from seqlm.export.onnx import lm_bytes  # noqa: E402
from seqlm.export.onnx_runtime import OnnxLM, metadata, session  # noqa: E402
from seqlm.nn.build import build_model  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402

V, E, H, LAYERS = 65, 128, 256, 2


def build(cell: str, onnx_threads: list[int], kernels: str = "auto", backend: str = "seqlm"):
    """(torch stepping, [(name, onnx stepping)]: the graph loop per thread count, then the
    per-step path) of one untrained char LM; torch's side on `kernels` and `backend`."""
    torch.manual_seed(0)
    vocab = Vocab.build(chr(33 + i) for i in range(V - len(SPECIALS)))
    config = TrainConfig(model=LMConfig(unit="char", cell=cell, embedding_dim=E,
                                        hidden_size=H, num_layers=LAYERS, kernels=kernels,
                                        backend=backend))
    model = build_model("lm", config, vocab).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = lm_bytes(SimpleNamespace(kind="lm", model=model, payload={
            "config": to_dict(config), "vocab": vocab.to_dict()}))
    print(f"{cell}: torch's stepper on backend {backend}, kernels "
          f"{getattr(model.rnn, 'kernels', '?')}")
    onnx_sides = []
    for threads in onnx_threads:
        sess = session(data, threads)
        onnx_sides.append((f"onnx loop ({threads} thr)",
                           OnnxLM(sess, metadata(sess, "bench"), data, threads)))
    sess = session(data, onnx_threads[0])  # no source: one call per token
    onnx_sides.append((f"onnx step ({onnx_threads[0]} thr)",
                       OnnxLM(sess, metadata(sess, "bench"))))
    return RecurrentStepping(model), onnx_sides


class PrimeTimed:
    """Times a stepping's `start` (reading the prime) apart from the rest of the call: its
    `start` is wrapped on the instance while the `with` block runs (the ONNX generation loop
    calls its own `start` too)."""

    def __init__(self, stepping):
        self.stepping, self.prime_s = stepping, 0.0

    def __enter__(self):
        start = self.stepping.start

        def timed(prime_ids):
            began = time.perf_counter()
            out = start(prime_ids)
            self.prime_s += time.perf_counter() - began
            return out

        self.stepping.start = timed
        return self

    def __exit__(self, *exc) -> None:
        del self.stepping.start  # the class's method again


def sample_rate(stepping, chars: int) -> float:
    """chars/s of `generate` at batch 1 as `seqlm sample` calls it (a one-token prime)."""
    start = time.perf_counter()
    generate(stepping, [len(SPECIALS)], chars, SamplingRule(0.8), seed=0)
    return chars / (time.perf_counter() - start)


def loop_rate(stepping, chars: int) -> float:
    """chars/s of the same call less the time its prime took to read: the sampling loop
    (torch reads a prime through the sequence path, onnxruntime through the step)."""
    with PrimeTimed(stepping) as timed:
        start = time.perf_counter()
        generate(stepping, [len(SPECIALS)], chars, SamplingRule(0.8), seed=0)
        return chars / (time.perf_counter() - start - timed.prime_s)


def step_rate(stepping, chars: int) -> float:
    """steps/s of the model's step alone, its state fed back."""
    logits, state = stepping.start([len(SPECIALS)])
    start = time.perf_counter()
    for _ in range(chars):
        logits, state = stepping.step(len(SPECIALS), state)
    return chars / (time.perf_counter() - start)


def weight_stream(cell: str, repeats: int, steps: int = 2000) -> None:
    """What a batch-1 step cannot beat: the step's float32 weight products alone (layer 0's
    recurrent matrix, layer 1's input and recurrent ones, the output layer; layer 0's input
    product is a table row) as `torch.mm` on one thread, and a NumPy sum over as many bytes:
    both read every weight once, so their GB/s bound any batch-1 sampler on this core."""
    import numpy as np

    gates = {"lstm": 4, "gru": 3}.get(cell, 1) * H
    shapes = [(H, gates), (2 * H, gates), (H, V)]
    ws, xs = [torch.randn(*s) for s in shapes], [torch.randn(1, s[0]) for s in shapes]
    ys = [torch.empty(1, s[1]) for s in shapes]
    nbytes = sum(w.numel() * 4 for w in ws)
    flat = np.random.default_rng(0).random(nbytes // 8)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    mm, total = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            for x, w, y in zip(xs, ws, ys, strict=True):
                torch.mm(x, w, out=y)
        mm.append((time.perf_counter() - start) / steps)
        start = time.perf_counter()
        for _ in range(steps):
            flat.sum()
        total.append((time.perf_counter() - start) / steps)
    torch.set_num_threads(threads)
    a, b = statistics.median(mm), statistics.median(total)
    print(f"{cell:5s} {LAYERS}x{H} weights read per step {nbytes / 1e6:.2f} MB: torch.mm 1 thread "
          f"{a * 1e6:.1f} us ({nbytes / a / 1e9:.1f} GB/s), NumPy sum {b * 1e6:.1f} us "
          f"({nbytes / b / 1e9:.1f} GB/s)")


def measure(cell: str, chars: int, repeats: int, onnx_threads: list[int], kernels: str,
            backend: str) -> None:
    torch_side, onnx_sides = build(cell, onnx_threads, kernels, backend)
    for name, rate in (("sample", sample_rate), ("loop", loop_rate), ("step", step_rate)):
        for side in (torch_side, *(s for _, s in onnx_sides)):
            rate(side, 50)  # warm-up: first calls allocate (and build the loop graph)
        t_rates, o_rates = [], [[] for _ in onnx_sides]
        for _ in range(repeats):
            t_rates.append(rate(torch_side, chars))
            for rates, (_, side) in zip(o_rates, onnx_sides, strict=True):
                rates.append(rate(side, chars))
        for (label, _), rates in zip(onnx_sides, o_rates, strict=True):
            ratios = [o / t for o, t in zip(rates, t_rates, strict=True)]
            print(f"{cell:5s} {LAYERS}x{H} {name:6s}  torch {statistics.median(t_rates):9,.0f}/s"
                  f"  {label:18s} {statistics.median(rates):9,.0f}/s  onnx/torch "
                  f"{statistics.median(ratios):5.2f}x  (min {min(ratios):.2f}, "
                  f"max {max(ratios):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's threads (default: torch's own, as `seqlm sample`)")
    parser.add_argument("--onnx-threads", type=int, nargs="+", default=[ONNX_THREADS],
                        help="onnxruntime's intra-op threads; several: one interleaved side "
                             "each (default: ONNX_THREADS, as `seqlm sample --runtime onnx`)")
    parser.add_argument("--kernels", choices=KERNELS, default="auto",
                        help="torch's side: seqlm's compiled step kernels or eager torch ops "
                             "(the issue's reference point, torch eager)")
    parser.add_argument("--backend", choices=BACKENDS, default="seqlm",
                        help="torch's side: seqlm's own layers or torch.nn's")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    import onnxruntime

    print(f"CPU: {cpu_name()}; torch {torch.__version__} ({torch.get_num_threads()} threads),"
          f" onnxruntime {onnxruntime.__version__}; load {os.getloadavg()[0]:.2f}")
    for cell in args.cells:
        measure(cell, args.chars, args.repeats, args.onnx_threads, args.kernels, args.backend)
        weight_stream(cell, args.repeats)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Measuring the minimal RNNs' scan paths: training speed against T, and float32 error.

Speed: one training step (forward, backward, Adam) of a one-layer char LM (embedding ->
recurrent layer -> projection, cross-entropy) per variant, all at the same hidden size:

    mingru-seq | mingru-log | mingru-chunk   seqlm MinGRU on each `seqlm.nn.scan` path
    torch-gru | torch-lstm                   torch.nn.GRU / LSTM (oneDNN on CPU, cuDNN on GPU)
    seqlm-gru | seqlm-lstm                   seqlm.nn.GRU (step loop), LSTM (fused node)

The variants run interleaved, once each per repeat after a warm-up call, so that load from
other jobs hits every variant alike; ratios are taken within a repeat and their median
reported (the convention of benchmarks/). torch.nn's layers appear here only as the
reference a measurement needs, as in benchmarks/.
Precision: the three paths in float32 against the sequential loop in float64 on the same
gate pre-activations u, v ~ N(0, 1) (a = sigma(-u) is 1/2 on average: a fast-forgetting state,
where the log path's cumulative sums grow fastest), as max |h32 - h64| / max |h64|.
Leaves out: memory use, inference-only speed, multi-layer stacks.
"""

import statistics
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.config import LMConfig
from seqlm.config.lm import SPEED_VARIANTS
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.scan import SCANS

VOCAB = 65  # Tiny Shakespeare's characters
REFERENCE = "torch-gru"
SEQLM_VARIANTS = {"mingru-seq": ("mingru", "sequential"), "mingru-log": ("mingru", "log"),
                  "mingru-chunk": ("mingru", "chunked"), "seqlm-gru": ("gru", "sequential"),
                  "seqlm-lstm": ("lstm", "sequential")}
TORCH_VARIANTS = {"torch-gru": nn.GRU, "torch-lstm": nn.LSTM}
VARIANTS = SPEED_VARIANTS  # every key of the two tables above, in the chapter's order


class TorchLM(nn.Module):
    """The same LM around torch.nn.GRU / LSTM: `forward(idx, targets) -> (logits, loss, None)`."""

    def __init__(self, layer: type[nn.Module], embed: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, embed)
        self.rnn = layer(embed, hidden, 1, batch_first=True)
        self.proj = nn.Linear(hidden, VOCAB)

    def forward(self, idx: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, None]:
        out, _ = self.rnn(self.embedding(idx))  # (B, T, H)
        logits = self.proj(out)  # (B, T, V)
        return logits, F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)), None


def make_variant(name: str, embed: int, hidden: int, device: str = "cpu",
                 seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    if name in TORCH_VARIANTS:
        return TorchLM(TORCH_VARIANTS[name], embed, hidden).to(device)
    if name not in SEQLM_VARIANTS:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    cell, scan = SEQLM_VARIANTS[name]
    return RecurrentLM(VOCAB, LMConfig(cell=cell, scan=scan, embedding_dim=embed,
                                       hidden_size=hidden, num_layers=1,
                                       dropout=0.0)).to(device)


def step_seconds(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> float:
    """Wall seconds of one training step (a GPU is synchronised before and after)."""
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    _, loss, _ = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def time_variants(steps: int, variants: tuple[str, ...], batch: int, embed: int, hidden: int,
                  repeats: int, device: str = "cpu", seed: int = 0) -> dict[str, list[float]]:
    """{variant: [seconds per training step, one per repeat]} at sequence length `steps`."""
    models = {v: make_variant(v, embed, hidden, device, seed) for v in variants}
    return time_models(models, steps, batch, repeats, device, seed)


def time_models(models: dict, steps: int, batch: int, repeats: int, device: str = "cpu",
                seed: int = 0) -> dict[str, list[float]]:
    """{name: [seconds per training step, one per repeat]} of each model at sequence length
    `steps`, the models interleaved in every repeat after one warm-up step each."""
    g = torch.Generator().manual_seed(seed + steps)
    x, y = (torch.randint(0, VOCAB, (batch, steps), generator=g).to(device) for _ in range(2))
    opts = {v: torch.optim.Adam(m.parameters(), lr=1e-3) for v, m in models.items()}
    for v in models:  # warm-up: allocator, oneDNN / cuDNN plans
        step_seconds(models[v], opts[v], x, y)
    times: dict[str, list[float]] = {v: [] for v in models}
    for _ in range(repeats):
        for v in models:
            times[v].append(step_seconds(models[v], opts[v], x, y))
    return times


def median_ratio(times: dict[str, list[float]], reference: str, variant: str) -> float:
    """Median over repeats of reference time / variant time (> 1: the variant is faster)."""
    return statistics.median(r / t for r, t in zip(times[reference], times[variant],
                                                   strict=True))


def scan_errors(lengths: tuple[int, ...], batch: int, hidden: int, chunk: int,
                seed: int = 0) -> dict[str, dict[int, float]]:
    """{path: {T: max |h32 - h64| / max |h64|}}, the truth being the float64 loop."""
    g = torch.Generator().manual_seed(seed)
    errors: dict[str, dict[int, float]] = {name: {} for name in SCANS}
    with torch.no_grad():
        for steps in lengths:
            u, v = (torch.randn(batch, steps, hidden, generator=g, dtype=torch.float64)
                    for _ in range(2))
            truth = SCANS["sequential"](u, v, None, chunk)
            for name, scan in SCANS.items():
                h32 = scan(u.float(), v.float(), None, chunk).double()
                errors[name][steps] = float((h32 - truth).abs().max() / truth.abs().max())
    return errors

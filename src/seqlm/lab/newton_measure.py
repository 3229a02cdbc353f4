"""Measuring Newton's method over the sequence (`seqlm.nn.newton`): convergence on real
windows, and training speed against T.

Convergence: for an LM with GRU or LSTM layers (trained, or as initialised) and windows of
token ids, every layer's trajectory is solved from a zero guess, one Newton iteration at a
time, against the sequential cell (`seqlm.nn.cells`' step loop) on the same inputs (each
layer's input: the layer below's sequential output). Reported per layer and Jacobian (full:
Newton, diagonal: quasi-Newton): the error max |h_k - h_seq| after each iteration k (until
three iterates are at the target, to show float32's floor), the
iterations until that error is <= 1e-5, the iterations the stopping rule (residual <=
tolerance) takes, and the error it leaves.
Speed: one training step (forward, backward, Adam) of a one-layer char LM, interleaved
repeats after a warm-up, as `seqlm.lab.scan_speed` times it:

    seqlm-gru     seqlm's GRU layer, the default sequential path (its fused loop)
    newton-loop   the same layer by Newton, each linear recurrence solved step by step
    newton-scan   by Newton, each linear recurrence by the log-depth matrix scan
    torch-gru     torch.nn.GRU (oneDNN on CPU, cuDNN on a GPU): the reference of the ratios

Leaves out: bidirectional layers, memory use.
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.checkpoint import load
from seqlm.config import LMConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import encode_text
from seqlm.lab.scan_speed import VOCAB, TorchLM, time_models
from seqlm.nn.cell_jacobians import NEWTON_CELLS
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.newton import Newton, newton_solve, newton_step

TARGET = 1e-5  # the bar: max |h_newton - h_seq| in float32
NEWTON_VARIANTS = ("seqlm-gru", "newton-loop", "newton-scan", "torch-gru")


def sequential_states(kind, gi: Tensor, w_hh_t: Tensor, b_step, state) -> Tensor:
    """The step loop's states, stacked [h] or [h, c]: (B, T, S)."""
    out = []
    for gi_t in gi.unbind(1):
        state = kind.step(gi_t, state, w_hh_t, b_step)
        out.append(torch.cat(state, dim=-1))
    return torch.stack(out, dim=1)


def layer_convergence(rnn: nn.Module, layer: int, x: Tensor, cap: int, tolerance: float
                      ) -> tuple[dict, Tensor]:
    """({jacobian: measurements}, the layer's sequential output (B, T, H)) for one layer."""
    suffix = f"_l{layer}"
    w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(suffix)
    gi = F.linear(x, w_ih, b_in)  # (B, T, G*H)
    hidden, cell = rnn.hidden_size, NEWTON_CELLS[rnn.kind.name]
    zeros = x.new_zeros(x.shape[0], hidden)
    truth = sequential_states(rnn.kind, gi, w_hh_t, b_step, (zeros,) * cell.state_size)
    s0 = truth.new_zeros(truth.shape[0], truth.shape[2])
    out = {}
    for jacobian in ("full", "diagonal"):
        states, errors = torch.zeros_like(truth), []
        for _ in range(cap):
            states = newton_step(cell, gi, w_hh_t.t(), b_step, s0, states, jacobian, "loop")
            errors.append(float((states[..., :hidden] - truth[..., :hidden]).abs().max()))
            if sum(e <= TARGET for e in errors) >= 3 or errors[-1] != errors[-1]:
                break  # three iterates at the target show float32's floor; or diverged
        rule = Newton(cap, tolerance, jacobian, "loop", "warn")
        solved, used, _ = newton_solve(cell, gi, w_hh_t.t(), b_step, s0, rule)
        out[jacobian] = {
            "errors": errors,
            "to_target": next((k + 1 for k, e in enumerate(errors) if e <= TARGET), None),
            "by_rule": used,
            "rule_error": float((solved[..., :hidden] - truth[..., :hidden]).abs().max())}
    return out, truth[..., :hidden]


@torch.no_grad()
def convergence(model: RecurrentLM, windows: Tensor, cap: int = 50,
                tolerance: float = TARGET) -> list[dict]:
    """[per layer: {jacobian: {"errors", "to_target", "by_rule", "rule_error"}}] on windows
    (B, T) of token ids, zero initial state, in the model's dtype."""
    x = model.embedding(windows)  # (B, T, E)
    layers = []
    for layer in range(model.rnn.num_layers):
        measured, x = layer_convergence(model.rnn, layer, x, cap, tolerance)
        layers.append(measured)
    return layers


def newton_variant(name: str, embed: int, hidden: int, device: str = "cpu",
                   seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    if name == "torch-gru":
        return TorchLM(nn.GRU, embed, hidden).to(device)
    if name not in NEWTON_VARIANTS:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(NEWTON_VARIANTS)}")
    newton = {} if name == "seqlm-gru" else dict(recurrence="newton",
                                                  newton_solver=name.split("-")[1])
    return RecurrentLM(VOCAB, LMConfig(cell="gru", embedding_dim=embed, hidden_size=hidden,
                                       num_layers=1, dropout=0.0, **newton)).to(device)


def time_newton(steps: int, variants: tuple[str, ...], batch: int, embed: int, hidden: int,
                repeats: int, device: str = "cpu", seed: int = 0
                ) -> tuple[dict[str, list[float]], dict[str, int]]:
    """({variant: [seconds per training step, one per repeat]}, {variant: Newton iterations
    in the last step}) at sequence length `steps`."""
    models = {v: newton_variant(v, embed, hidden, device, seed) for v in variants}
    times = time_models(models, steps, batch, repeats, device, seed)
    iterations = {v: max(getattr(m.rnn, "iterations", {}).values(), default=0)
                  for v, m in models.items()}
    return times, iterations


def checkpoint_convergence(path: str | Path, lengths: tuple[int, ...], rows: int,
                           cap: int = 60, seed: int = 0) -> dict:
    """{"cell", "layers", T: {"trained": [...], "init": [...]}} (`convergence`'s lists) for a
    GRU / LSTM LM's checkpoint and the same architecture freshly initialised (`seed`), on
    the first rows * T tokens of its corpus's validation split."""
    loaded = load(path, "cpu")
    config = loaded.config
    ids = encode_text(load_corpus(config.corpus).text("valid"), config.model.unit,
                      loaded.vocab).ids
    torch.manual_seed(seed)
    fresh = RecurrentLM(len(loaded.vocab), config.model).eval()
    out: dict = {"cell": config.model.cell, "layers": config.model.num_layers,
                 "hidden": config.model.hidden_size}
    for steps in lengths:
        if rows * steps > len(ids):
            continue
        windows = torch.from_numpy(ids[: rows * steps].astype("int64")).view(rows, steps)
        out[steps] = {"trained": convergence(loaded.model, windows, cap),
                      "init": convergence(fresh, windows, cap)}
    return out

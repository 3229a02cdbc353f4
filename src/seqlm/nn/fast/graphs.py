"""A recurrent LM's forward and backward captured as CUDA graphs, so that a training step on a
GPU replays two graphs instead of launching a dozen small kernels per time step.

On a GPU, seqlm's fused directions run their eager step loops (`seqlm.nn.fast.lstm` etc.):
per step one product and ~8 elementwise kernels forward, ~12 backward, each launched from
Python; at B = 64, H = 512 a kernel runs for microseconds and the launches, not the
arithmetic, set the pace. `graphed_lm` captures the whole forward (all T steps of every
layer, the projection) and its backward once with `torch.cuda.make_graphed_callables`; a
call then copies the batch into the graph's static inputs and replays. What makes the loops
capturable: no host synchronisation and no host-to-device copies inside them (the constants
are filled on the device, `new_full`), and every shape fixed by (B, T).
    graphed = graphed_lm(model, idx, state)           # idx (B, T) on CUDA; state or None
    logits, state = graphed(idx, state)               # then loss.backward() replays backward
Under autocast, build and call it inside the same autocast (cache_enabled=False, as torch
requires for graphed callables). Reference: PyTorch's CUDA Graphs notes
(docs.pytorch.org, "CUDA semantics: CUDA Graphs"). Leaves out: the CPU (no graphs there),
shapes other than the captured (B, T) (a short last window runs ungraphed), the optimiser
step; tested only on a GPU machine (tests/gpu/test_graphs.py).
"""

import torch
from torch import Tensor, nn

from seqlm.errors import SeqlmError


class _Step(nn.Module):
    """The LM's forward with tensors only in and out, as make_graphed_callables requires:
    forward(idx, *state) -> (logits, *final state)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, idx: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        logits, _, final = self.model(idx, None, tuple(state) if state else None)
        return (logits, *final)


class GraphedLM:
    """`graphed(idx (B, T), state | None) -> (logits (B, T, V), state)` replaying the graphs
    captured for `model` at idx's shape; `state` must be given iff it was at capture."""

    def __init__(self, model: nn.Module, idx: Tensor, state: tuple[Tensor, ...] | None):
        if idx.device.type != "cuda":
            raise SeqlmError(f"CUDA graphs need a CUDA device, got {idx.device}: run the "
                             "model ungraphed on the CPU")
        self.with_state = state is not None
        sample = (idx, *state) if state is not None else (idx,)
        self.step = torch.cuda.make_graphed_callables(_Step(model), sample)

    def __call__(self, idx: Tensor, state: tuple[Tensor, ...] | None = None
                 ) -> tuple[Tensor, tuple[Tensor, ...]]:
        if (state is not None) != self.with_state:
            raise ValueError("call a graphed LM with a state iff it was captured with one")
        out = self.step(idx, *state) if state is not None else self.step(idx)
        return out[0], tuple(out[1:])


def graphed_lm(model: nn.Module, idx: Tensor, state: tuple[Tensor, ...] | None = None
               ) -> GraphedLM:
    """Capture `model`'s forward and backward at idx's shape (B, T) (and state's, if any);
    the model must be on CUDA and in the mode (train / eval) it will be replayed in."""
    return GraphedLM(model, idx, state)

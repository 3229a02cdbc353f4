"""The language-model task of the training engine: truncated backpropagation through time.

    for each window (x, y) of the B training streams, in order (`LMBatches`):
        state = detach(state)                  keep the values, cut the graph
        logits, _, state = model(x, state)     loss = summed cross-entropy over y, in nats
    the engine does backward, clipping and the optimiser step (Williams & Peng 1990;
    Zaremba et al. 2014's setup)

With `engine.accumulate` = N the stream layout has N*B rows, exactly as one batch N times
larger, and micro-batch j is rows j*B .. (j+1)*B - 1 of each window with its own slice of the
carried state: N accumulated micro-batches make the update of the larger batch. The state
carried at the end of the training stream is reset (a new epoch starts the streams again).
Under torchrun the layout has N*B*ranks rows and each rank owns its block of them (fairseq's
layout, drawn in `seqlm.data.batching`), carrying the state of its own rows in `carry`, never
in a module buffer (DistributedDataParallel would overwrite buffers with rank 0's).

The task's checkpointed state is the data position (epoch, window) and the carried state of
every row of the layout, in row order, so a resumed run reads the same windows with the same
states as an uninterrupted one, whichever rank held a row. Resumed with another number of
rows (another world size), the layout is recomputed: training goes on at the same fraction
of the epoch with the state reset, and the manifest says so.
Leaves out: shuffled streams (they would break the carried state).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.config import TrainConfig, to_dict
from seqlm.data.batching import LMBatches
from seqlm.data.lm_data import TokenStream
from seqlm.data.vocab import Vocab
from seqlm.nn.lm import LMState, detach_state
from seqlm.progress import ProgressCallback
from seqlm.training.distributed import World
from seqlm.training.engine import StopCheck
from seqlm.training.evaluate import evaluate_stream


@dataclass
class WindowBatch:
    """Rows `part` of one TBPTT window, on the device: x, y (B, T)."""

    x: Tensor
    y: Tensor
    part: int  # which slice of the carried state (0 .. accumulate - 1)
    count: int  # targets in y


class LMTask:
    """The engine's view of a language model: windows in, summed losses out."""

    kind = "lm"
    headline = "loss_nats"

    def __init__(self, config: TrainConfig, vocab: Vocab, train: TokenStream,
                 valid: TokenStream | None, device: torch.device,
                 data_sha256: str | None = None, world: World | None = None):
        self.config, self.vocab, self.valid, self.device = config, vocab, valid, device
        self.world = world or World()
        self.vocab_size = len(vocab)
        self.parts = config.engine.accumulate
        self.streams = LMBatches(train.ids, config.batch_size * self.parts, config.window,
                                 ranks=self.world.size, rank=self.world.rank,
                                 accumulate=self.parts)
        self.rows = config.batch_size * self.parts * self.world.size  # of the whole layout
        self.tokens = len(train.ids)
        self.data_sha256 = data_sha256
        self.epoch, self.window = 0, 0
        self.carry: list[LMState | None] = [None] * self.parts

    def batches(self, step: int) -> list[WindowBatch]:
        if self.window >= len(self.streams):  # end of the streams: a new epoch
            self.epoch, self.window = self.epoch + 1, 0
            self.carry = [None] * self.parts
        x, y = (torch.from_numpy(np.ascontiguousarray(a)).to(self.device, non_blocking=True)
                for a in self.streams.window(self.window))
        self.window += 1
        rows = self.config.batch_size
        return [WindowBatch(x[j * rows:(j + 1) * rows], y[j * rows:(j + 1) * rows], j,
                            rows * y.shape[1]) for j in range(self.parts)]

    def loss_sum(self, model: nn.Module, micro: WindowBatch, step: int) -> Tensor:
        logits, _, state = model(micro.x, None, self.carry[micro.part])
        self.carry[micro.part] = detach_state(state)  # keep the values, cut the graph
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                               micro.y.reshape(-1), reduction="sum")

    def evaluate(self, model: nn.Module, progress: ProgressCallback | None,
                 should_stop: StopCheck | None) -> dict[str, float] | None:
        if self.valid is None:
            return None
        c = self.config
        scores = evaluate_stream(model, self.valid, c.eval_batch_size, c.window,
                                 c.eval_max_tokens, progress, should_stop, self.world)
        return None if scores is None else {**scores, "objective": scores["loss_nats"]}

    def state_dict(self) -> dict[str, Any]:
        """This rank's position and carried state; `rows` and `windows` name the layout."""
        return {"epoch": self.epoch, "window": self.window, "carry": list(self.carry),
                "rows": self.rows, "windows": len(self.streams)}

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        """Every rank's state as one: the carried slices of all rows, in row order."""
        return {**states[0], "carry": [part for s in states for part in s["carry"]]}

    def load_state_dict(self, state: dict[str, Any]) -> dict[str, Any]:
        """Go on from a merged state; another layout (world size) resets the carried state
        and keeps the fraction of the epoch. Returns what changed."""
        self.epoch, self.window = state["epoch"], state["window"]
        # checkpoints written before several processes name no layout: read it off the state
        rows = state.get("rows") or carried_rows(state["carry"]) or self.rows
        if rows != self.rows:
            windows = state.get("windows") or -(-(self.tokens // rows - 1) // self.config.window)
            self.window = self.window * len(self.streams) // windows
            self.carry = [None] * self.parts
            return {"streams": [rows, self.rows], "window": [state["window"], self.window],
                    "carried_state": "reset: the streams are not the same text"}
        self.carry = self.my_carry(state["carry"])
        return {}

    def my_carry(self, saved: list[LMState | None]) -> list[LMState | None]:
        """This rank's slices of the carried state of all rows (saved in any slicing)."""
        if any(s is None for s in saved):
            return [None] * self.parts
        whole = [torch.cat([s[k] for s in saved], dim=1) for k in range(len(saved[0]))]
        if whole[0].shape[1] != self.rows:
            raise ValueError(f"the checkpoint carries the state of {whole[0].shape[1]} streams,"
                             f" its layout has {self.rows}")
        b = self.config.batch_size
        first = self.world.rank * self.parts
        return [tuple(t[:, (first + j) * b:(first + j + 1) * b].to(self.device) for t in whole)
                for j in range(self.parts)]

    def payload(self) -> dict[str, Any]:
        return {"config": to_dict(self.config), "vocab": self.vocab.to_dict(),
                "data": {"sha256": self.data_sha256}}

    def log_extras(self, step: int) -> dict[str, float]:
        return {}


def carried_rows(carry: list[LMState | None]) -> int | None:
    """The streams a checkpoint's carried state covers (None: nothing carried yet)."""
    if not carry or any(part is None for part in carry):
        return None
    return sum(part[0].shape[1] for part in carry)

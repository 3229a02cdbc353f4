"""Scoring a language model on a token stream, statefully: loss, perplexity, bits per char and
per byte.

The stream is cut into B contiguous rows and read in windows of T with the state carried
across windows (the TBPTT layout of `seqlm.data.batching`), so every scored token sees all of
its row's history, as in training. Every token of a row but its first is scored once; bits per
character and per byte divide the summed NLL by the characters and bytes those scored tokens
cover (`TokenStream.chars` / `.bytes`).

Under torchrun (`world`) the same B rows are split into contiguous blocks, one per rank (a
rank may get none); the sums are added over the ranks, so the score is the one of a single
process up to the order of float additions. Leaves out: dynamic evaluation, caches.
"""

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqlm.data.batching import LMBatches
from seqlm.data.lm_data import TokenStream
from seqlm.errors import SeqlmError
from seqlm.metrics import bits_per_byte, bits_per_char, perplexity
from seqlm.nn.lm import detach_state
from seqlm.progress import Progress, ProgressCallback, report
from seqlm.training.distributed import World


def eval_layout(n_tokens: int, batch_size: int, window: int) -> tuple[int, int]:
    """A batch size and window that fit `n_tokens` (short texts get fewer, shorter rows)."""
    if n_tokens < 2:
        raise SeqlmError(f"cannot score a text of {n_tokens} token(s): give at least two")
    batch = max(1, min(batch_size, n_tokens // (window + 1)))
    return batch, max(1, min(window, n_tokens // batch - 1))


@torch.no_grad()
def evaluate_stream(model: nn.Module, stream: TokenStream, batch_size: int, window: int,
                    max_tokens: int | None = None,
                    progress: ProgressCallback | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    world: World | None = None) -> dict[str, float] | None:
    """Score `stream` (or its first `max_tokens` tokens); the model is left as it was found.
    Reports progress in tokens; returns None if `should_stop()` turns true on the way (on
    any rank: every rank then returns None)."""
    world = world or World()
    n = len(stream) if max_tokens is None else min(len(stream), max_tokens)
    batch, window = eval_layout(n, batch_size, window)
    ids, chars, nbytes = (LMBatches(a[:n], batch, window) for a in
                          (stream.ids, stream.chars, stream.bytes))
    block = np.array_split(np.arange(batch), world.size)[world.rank]  # this rank's rows
    rows = slice(int(block[0]), int(block[-1]) + 1) if len(block) else slice(0, 0)
    was_training = model.training
    model.eval()
    try:
        sums = score_rows(model, (ids, chars, nbytes), rows, progress, should_stop)
    finally:
        model.train(was_training)
    total_nats, n_scored, n_chars, n_bytes, stopped = world.sum(sums, "adding up the evaluation")
    if stopped:
        return None
    loss = total_nats / n_scored
    return {
        "loss_nats": loss,
        "perplexity": perplexity(loss) if loss < 700 else math.inf,  # exp overflows beyond
        "bits_per_char": bits_per_char(total_nats, n_chars) if n_chars else float("nan"),
        "bits_per_byte": bits_per_byte(total_nats, n_bytes) if n_bytes else float("nan"),
        "tokens": int(n_scored),
    }


def score_rows(model: nn.Module, layouts: tuple[LMBatches, ...], rows: slice,
               progress: ProgressCallback | None, should_stop: Callable[[], bool] | None
               ) -> list[float]:
    """Summed NLL, targets, characters and bytes of rows `rows` of every window, state
    carried; the last entry is 1.0 if `should_stop()` cut the pass short."""
    ids, chars, nbytes = layouts
    device = next(model.parameters()).device
    total_nats, n_scored, n_chars, n_bytes = 0.0, 0, 0, 0
    state = None
    count = rows.stop - rows.start
    for i in range(len(ids) if count else 0):
        if should_stop is not None and should_stop():
            return [total_nats, n_scored, n_chars, n_bytes, 1.0]
        x, y = (torch.from_numpy(np.ascontiguousarray(a[rows])).to(device)
                for a in ids.window(i))
        logits, _, state = model(x, None, state)
        state = detach_state(state)
        total_nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                      y.reshape(-1), reduction="sum").item()
        n_scored += y.numel()
        n_chars += int(chars.window(i)[1][rows].sum())
        n_bytes += int(nbytes.window(i)[1][rows].sum())
        report(progress, Progress("evaluate", (i + 1) * y.numel(), len(ids) * y.numel(),
                                  unit="tok"))
    return [total_nats, n_scored, n_chars, n_bytes, 0.0]

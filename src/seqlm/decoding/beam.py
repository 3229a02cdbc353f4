"""Beam search, once, for every model that decodes: language models and seq2seq.

Keeps the `width` best partial outputs by total log-probability (nats, summed in float64 so
a long prefix cannot reorder nearly tied float32 log-probabilities). Each step, in named parts:

    expand   one model step for all live hypotheses at once: log-probabilities (W, V)
    score    candidate score = hypothesis score + token log-probability, (W * V,)
    prune    keep the `width - finished` best candidates; the state follows them
    finish   a candidate ending in </s> leaves the beam, ranked by score / lp(length),
             lp(n) = ((5 + n) / 6) ** alpha (Wu et al. 2016, GNMT; n counts </s>); at the
             length limit the live ones stop too, unfinished

The search stops when every slot holds a finished hypothesis or at the length limit.
Finished hypotheses are preferred; unfinished ones are ranked only when none finished (a
character model, which never emits </s>). Width 1 is greedy decoding exactly. The model is
reached through a step function `step(tokens (W,), state) -> (log-probs (W, V), state,
per-row extras (W, ...) or None)` and a `select(state, rows)`; extras (attention weights)
are kept per hypothesis. Leaves out: diverse beams, coverage penalties, batched sources.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqlm.config import LENGTH_ALPHA
from seqlm.data.vocab import EOS_ID

Step = Callable[[Tensor, Any], tuple[Tensor, Any, Tensor | None]]
Select = Callable[[Any, Tensor], Any]


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[int]  # the chosen ids, without a final </s>
    logprob_nats: float  # of the tokens, and of </s> when finished
    score: float  # logprob_nats / lp(length)
    finished: bool  # ended in </s> (False: stopped at the length limit)
    weights: np.ndarray | None = None  # (T_out, ...) the step's extras, </s>'s row included


def length_penalty(n: int, alpha: float) -> float:
    """GNMT's lp(n) = ((5 + n) / 6) ** alpha; alpha = 0 is no normalisation."""
    return ((5.0 + n) / 6.0) ** alpha


@dataclass
class Beam:
    """The live hypotheses: their tokens, cumulative scores (float64) and extras."""

    tokens: list[list[int]]
    scores: Tensor  # (n,)
    extras: list[list[np.ndarray]] = field(default_factory=list)


def expand(step: Step, beam: Beam, last: Tensor, state) -> tuple[Tensor, Any, Tensor | None]:
    """Cumulative log-probabilities (n, V) of every one-token extension of the live ones."""
    logprobs, state, extras = step(last, state)
    return beam.scores[:, None] + logprobs.double(), state, extras


def prune(scores: Tensor, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """The `width` best candidates of scores (n, V): (their scores, parent rows, tokens)."""
    top = scores.reshape(-1).topk(min(width, scores.numel()))
    return top.values, top.indices // scores.shape[1], top.indices % scores.shape[1]


def finish(beam: Beam, values: Tensor, parents: Tensor, tokens: Tensor, extras: Tensor | None,
           eos_id: int | None, alpha: float, finished: list[Hypothesis]) -> tuple[Beam, list]:
    """Move candidates ending in </s> to `finished`; return the next beam and its rows."""
    alive, rows = Beam([], values.new_empty(0), []), []
    keep = []
    for i, (value, parent, token) in enumerate(zip(values.tolist(), parents.tolist(),
                                                   tokens.tolist(), strict=True)):
        trail = beam.extras[parent] + ([] if extras is None else
                                       [extras[parent].float().cpu().numpy()])
        if eos_id is not None and token == eos_id:
            n = len(beam.tokens[parent]) + 1
            finished.append(Hypothesis(beam.tokens[parent], value,
                                       value / length_penalty(n, alpha), True,
                                       np.stack(trail) if trail else None))
        else:
            alive.tokens.append(beam.tokens[parent] + [token])
            alive.extras.append(trail)
            rows.append(parent)
            keep.append(i)
    alive.scores = values[keep]
    return alive, rows


def beam_search(step: Step, select: Select, start: Tensor, state, width: int, max_len: int,
                alpha: float = LENGTH_ALPHA, eos_id: int | None = EOS_ID) -> list[Hypothesis]:
    """Up to `width` hypotheses, best first. `start` (1,) is the token fed first (`<s>`, or
    the prime's last token with `state` after the rest of the prime)."""
    if width < 1 or max_len < 1:
        raise ValueError("beam width and length must be at least 1")
    beam = Beam([[]], torch.zeros(1, dtype=torch.float64, device=start.device), [[]])
    finished: list[Hypothesis] = []
    last = start
    for _ in range(max_len):
        scores, state, extras = expand(step, beam, last, state)
        values, parents, tokens = prune(scores, width - len(finished))
        beam, rows = finish(beam, values, parents, tokens, extras, eos_id, alpha, finished)
        if not rows:
            break  # every slot holds a finished hypothesis
        index = torch.tensor(rows, device=start.device)
        state = select(state, index)
        last = torch.tensor([t[-1] for t in beam.tokens], device=start.device)
    pool = finished or [
        Hypothesis(t, float(s), float(s) / length_penalty(len(t), alpha), False,
                   np.stack(e) if e else None)
        for t, s, e in zip(beam.tokens, beam.scores.tolist(), beam.extras, strict=True)]
    return sorted(pool, key=lambda h: -h.score)[:width]

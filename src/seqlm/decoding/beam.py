"""Beam search for a language model, with length normalisation.

Keeps the `width` best partial continuations of the prime by total log-probability (nats).
Each step, in named parts:

    expand   one model step for all live hypotheses at once: log-softmax (W, V)
    score    candidate score = hypothesis score + token log-probability, (W * V,)
    prune    keep the `width` best candidates; reorder the recurrent state to follow them
    finish   a candidate ending in </s> leaves the beam, ranked by score / lp(len) with
             lp(n) = ((5 + n) / 6) ** alpha (Wu et al. 2016, GNMT); alpha = 0 is no norm.

At `length` tokens the live hypotheses finish too. Width 1 is greedy decoding. <pad>, <unk>
and <s> are never chosen. Leaves out: diverse beams, coverage penalties.
"""

from dataclasses import dataclass

import torch
from torch import Tensor

from seqlm.data.vocab import EOS_ID
from seqlm.decoding.sampling import NEVER, prime_model
from seqlm.nn.stepper import LMStepper


@dataclass(frozen=True)
class Hypothesis:
    ids: list[int]  # generated tokens, the prime not included
    logprob_nats: float
    score: float  # length-normalised


def length_penalty(n: int, alpha: float) -> float:
    return ((5.0 + n) / 6.0) ** alpha


def _reorder(states, origin: Tensor):
    """Follow the surviving hypotheses: every layer's (W, H) rows picked by `origin` (W',)."""
    return [tuple(s.index_select(0, origin) for s in layer) for layer in states]


def _expand(stepper: LMStepper, tokens: Tensor, states,
            banned: tuple[int, ...]) -> tuple[Tensor, object]:
    logits, states = stepper(tokens, states)  # (W, V)
    logits[:, list(banned)] = float("-inf")
    return torch.log_softmax(logits, dim=-1), states


def _prune(scores: Tensor, logprobs: Tensor, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """The `width` best (origin row, token, total score) among W * V candidates."""
    vocab = logprobs.shape[1]
    candidates = (scores[:, None] + logprobs).reshape(-1)  # (W * V,)
    best, flat = torch.topk(candidates, min(width, candidates.numel()))
    return flat // vocab, flat % vocab, best


def beam_search(model, prime_ids: list[int], length: int, width: int = 5,
                alpha: float = 0.7, eos_id: int | None = EOS_ID,
                banned: tuple[int, ...] = NEVER) -> list[Hypothesis]:
    """Finished hypotheses, best first (at most `width`)."""
    if width < 1 or length < 1:
        raise ValueError("beam width and length must be at least 1")
    was_training = model.training
    model.eval()
    finished: list[Hypothesis] = []
    try:
        with torch.inference_mode():
            logits, state = prime_model(model, prime_ids)
            stepper = LMStepper(model)
            state = stepper.unpack(state)
            logits = logits.clone()
            logits[list(banned)] = float("-inf")
            logprobs = torch.log_softmax(logits, dim=-1)[None]  # (1, V)
            scores = torch.zeros(1, device=logprobs.device)
            beams: list[list[int]] = [[]]
            for step in range(length):
                origin, tokens, totals = _prune(scores, logprobs, width)
                live, keep = [], []
                for row, (o, t, s) in enumerate(zip(origin.tolist(), tokens.tolist(),
                                                    totals.tolist(), strict=True)):
                    ids = beams[o] + [t]
                    if (eos_id is not None and t == eos_id) or step == length - 1:
                        finished.append(Hypothesis(ids, s, s / length_penalty(len(ids), alpha)))
                    else:
                        live.append(ids)
                        keep.append(row)
                if not live or len(finished) >= width:
                    break
                keep_t = torch.tensor(keep, device=logprobs.device)
                beams, scores = live, totals[keep_t]
                state = _reorder(state, origin[keep_t])
                logprobs, state = _expand(stepper, tokens[keep_t], state, banned)
    finally:
        model.train(was_training)
    return sorted(finished, key=lambda h: -h.score)[:width]

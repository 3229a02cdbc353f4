"""Sampling from a language model one token at a time: greedy, temperature, top-k, top-p,
repetition penalty.

Each step turns the next-token logits (V,) into a choice, in this order:

    repetition penalty   logits of tokens already in the text: l / r if l > 0 else l * r
                         (Keskar et al. 2019, CTRL)
    temperature          l / tau; tau = 0 means greedy (argmax), the limit tau -> 0
    top-k                keep the k largest logits (Fan et al. 2018)
    top-p (nucleus)      keep the smallest set of most probable tokens whose probability
                         reaches p (Holtzman et al. 2020)
    draw                 from softmax of what is left, with an explicit torch.Generator

<pad>, <unk> and <s> are never generated (nor </s> in char and byte models). The prime runs
through the model's sequence path in one call; then an `LMStepper` advances one token at a
time under `torch.inference_mode` (no autograd bookkeeping, plain matmuls at batch 1).
Leaves out: typical and min-p sampling, contrastive search.
"""

from dataclasses import dataclass

import torch
from torch import Tensor

from seqlm.data.vocab import BOS_ID, PAD_ID, UNK_ID
from seqlm.nn.stepper import LMStepper

NEVER = (PAD_ID, UNK_ID, BOS_ID)


@dataclass(frozen=True)
class SamplingRule:
    temperature: float = 1.0  # 0 = greedy
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    banned: tuple[int, ...] = NEVER  # ids never generated


def apply_repetition_penalty(logits: Tensor, seen: Tensor, penalty: float) -> Tensor:
    """CTRL's penalty on the logits (V,) of the token ids in `seen`."""
    if penalty == 1.0 or seen.numel() == 0:
        return logits
    ids = seen.unique()
    picked = logits[ids]
    logits = logits.clone()
    logits[ids] = torch.where(picked > 0, picked / penalty, picked * penalty)
    return logits


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """-inf everywhere but the k largest logits (V,)."""
    if k >= logits.numel():
        return logits
    kth = torch.topk(logits, k).values[-1]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """-inf outside the smallest most-probable set whose probability reaches p."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
    # keep a token if the mass before it is still below p: the token that crosses p stays
    drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= p
    drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def choose(logits: Tensor, rule: SamplingRule, seen: list[int],
           generator: torch.Generator | None, banned_mask: Tensor | None = None) -> int:
    """The next token id from logits (V,); `seen` is the text so far (prime included)."""
    if banned_mask is None:
        banned_mask = banned_to_mask(rule.banned, logits.shape[-1])
    logits = logits.masked_fill(banned_mask, float("-inf"))
    if rule.repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, torch.tensor(seen, device=logits.device),
                                          rule.repetition_penalty)
    if rule.temperature == 0:
        return int(torch.argmax(logits))
    logits = logits / rule.temperature
    if rule.top_k is not None:
        logits = top_k_filter(logits, rule.top_k)
    if rule.top_p is not None:
        logits = top_p_filter(logits, rule.top_p)
    probs = torch.softmax(logits.float(), dim=-1).cpu()  # drawn on the CPU: the same text
    return int(torch.multinomial(probs, 1, generator=generator))  # on every device


def banned_to_mask(banned: tuple[int, ...], vocab_size: int,
                   device: torch.device | str = "cpu") -> Tensor:
    mask = torch.zeros(vocab_size, dtype=torch.bool, device=device)
    mask[list(banned)] = True
    return mask


def prime_model(model, prime_ids: list[int]) -> tuple[Tensor, object]:
    """Run the prime through the model in one sequence call: (last logits (V,), state)."""
    device = next(model.parameters()).device
    idx = torch.tensor([prime_ids], dtype=torch.long, device=device)  # (1, T)
    logits, _, state = model(idx)
    return logits[0, -1], state


def generate(model, prime_ids: list[int], length: int, rule: SamplingRule,
             seed: int = 0) -> list[int]:
    """`length` new token ids after the prime (the prime not included)."""
    if not prime_ids:
        raise ValueError("generation needs a prime of at least one token")
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        with torch.inference_mode():
            logits, state = prime_model(model, prime_ids)
            stepper = LMStepper(model)
            states = stepper.unpack(state)
            mask = banned_to_mask(rule.banned, logits.shape[-1], logits.device)
            seen = list(prime_ids)
            token_t = torch.zeros(1, dtype=torch.long, device=logits.device)
            for _ in range(length):
                token = choose(logits, rule, seen, generator, mask)
                out.append(token)
                seen.append(token)
                token_t.fill_(token)
                step_logits, states = stepper(token_t, states)
                logits = step_logits[0]
    finally:
        model.train(was_training)
    return out

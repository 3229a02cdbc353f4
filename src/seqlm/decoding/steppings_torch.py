"""A torch language model (`RecurrentLM`) behind `seqlm.decoding.steppings`' interface.

The prime runs through the sequence path in one call; each further token goes through the
model's own fast stepper (`RecurrentLM.stepper()`, weights prepared once), under
`torch.inference_mode`, on whatever device the model is. Logits come back to the CPU as
NumPy for the sampling rule (V numbers per step). `lm_beam_search` is the one beam search
(`seqlm.decoding.beam`) with this model's step. Leaves out: keeping the rule on the device.
"""

import numpy as np
import torch

from seqlm.config import LENGTH_ALPHA
from seqlm.data.vocab import EOS_ID
from seqlm.decoding.beam import Hypothesis, beam_search
from seqlm.decoding.sampling import NEVER
from seqlm.nn.lm import LMState, RecurrentLM, take_rows


def prime_model(model: RecurrentLM, prime_ids: list[int]) -> tuple[torch.Tensor, LMState]:
    """Run the prime through the model in one sequence call: (last logits (V,), state)."""
    device = next(model.parameters()).device
    idx = torch.tensor([prime_ids], dtype=torch.long, device=device)  # (1, T)
    logits, _, state = model(idx)
    return logits[0, -1], state


class RecurrentStepping:
    """`start(prime_ids)` and `step(token, state)` of a RecurrentLM, in eval mode."""

    def __init__(self, model: RecurrentLM):
        model.eval()
        self.model = model
        with torch.inference_mode():
            self.stepper = model.stepper()
        self.token = torch.zeros(1, dtype=torch.long, device=next(model.parameters()).device)

    def start(self, prime_ids: list[int]) -> tuple[np.ndarray, LMState]:
        with torch.inference_mode():
            logits, state = prime_model(self.model, prime_ids)
            return logits.float().cpu().numpy(), state

    def step(self, token: int, state: LMState) -> tuple[np.ndarray, LMState]:
        with torch.inference_mode():
            self.token.fill_(token)
            logits, state = self.stepper(self.token, state)
            return logits[0].float().cpu().numpy(), state


def lm_beam_search(model: RecurrentLM, prime_ids: list[int], length: int, width: int,
                   alpha: float = LENGTH_ALPHA, eos_id: int | None = EOS_ID,
                   banned: tuple[int, ...] = NEVER) -> list[Hypothesis]:
    """Beam search over `length` tokens after the prime; hypotheses best first."""
    if not prime_ids:
        raise ValueError("beam search needs a prime of at least one token")
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        stepper = model.stepper()
        state = None
        if len(prime_ids) > 1:  # the last prime token is the search's first input
            _, _, state = model(torch.tensor([prime_ids[:-1]], device=device))

        def step(tokens: torch.Tensor, state):
            logits, state = stepper(tokens, state)  # (W, V)
            logp = torch.log_softmax(logits.float(), dim=-1)  # the model's own probabilities,
            logp[:, list(banned)] = float("-inf")  # with what it may not emit ruled out
            return logp, state, None

        start = torch.tensor([prime_ids[-1]], device=device)
        return beam_search(step, take_rows, start, state, width, length, alpha, eos_id)

"""Attention: a decoder query scores every encoder position, a masked softmax turns the scores
into weights, and the context is the weighted sum of the encoder outputs.

Score functions, with q the query (B, Hq) and h_j the encoder output at position j (B, S, Hk):
    additive      e_j = v^T tanh(W q + U h_j)       Bahdanau, Cho & Bengio 2015, eq. (6) / A.1.2
    dot           e_j = q^T h_j                      Luong, Pham & Manning 2015, eq. (8)
    general       e_j = q^T W_a h_j                  Luong et al. 2015, eq. (8)
    scaled_dot    e_j = q^T h_j / sqrt(Hk)           Vaswani et al. 2017, eq. (1): the
                  transformer-era extension, not a pre-transformer model; here for comparison.
Which decoder state is the query (s_{t-1} for Bahdanau, h_t for Luong) is the decoder's
business (`seqlm.nn.seq2seq`), not the score's.

Every module masks padded source positions (weight exactly 0 there; the weights over real
positions sum to one) and keeps no state between calls: the part of the additive score that
does not depend on the query (U h_j) is computed by `prepare(keys)` and handed back by the
caller at each step. Leaves out: local and monotonic attention, coverage, multiple heads.
"""

import math

import torch
from torch import nn

from seqlm.errors import SeqlmError


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over S of `scores` (B, S) where `mask` (B, S) is True; exactly 0 elsewhere.

    Every row needs at least one real position (a source is never empty)."""
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)  # exp(-inf) = 0 on padding


def attend(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Context: weights (B, S) times values (B, S, Hk) -> (B, Hk)."""
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1)


class Attention(nn.Module):
    """One contract for every score: `prepare(keys)` once per source, then at each step
    `forward(query, keys, prepared, mask) -> (context (B, Hk), weights (B, S))`."""

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """What the score needs from the keys alone: (B, S, Hk) -> (B, S, *)."""
        return keys

    def score(self, query: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, prepared: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, Hq), keys (B, S, Hk), prepared from `prepare(keys)`, mask (B, S) ->
        context (B, Hk), weights (B, S)."""
        weights = masked_softmax(self.score(query, prepared), mask)  # (B, S)
        return attend(weights, keys), weights


class AdditiveAttention(Attention):
    """Bahdanau's score v^T tanh(W q + U h_j); U h_j is prepared once per source."""

    def __init__(self, query_size: int, key_size: int, attention_size: int):
        super().__init__()
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)  # W
        self.key_proj = nn.Linear(key_size, attention_size, bias=True)  # U (+ bias)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # (B, S, A)

    def score(self, query: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.query_proj(query).unsqueeze(1) + prepared)  # (B, S, A)
        return self.v(hidden).squeeze(-1)  # (B, S)


class DotAttention(Attention):
    """Luong's dot score q^T h_j; query and keys must have the same width."""

    def __init__(self, query_size: int, key_size: int, attention_size: int = 0):
        super().__init__()
        if query_size != key_size:
            raise SeqlmError(
                f"dot attention needs the decoder width ({query_size}) to equal the encoder "
                f"output width ({key_size}): use attention 'general' or change the sizes"
            )
        self.scale = 1.0

    def score(self, query: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        return torch.bmm(prepared, query.unsqueeze(-1)).squeeze(-1) * self.scale  # (B, S)


class ScaledDotAttention(DotAttention):
    """The transformer's q^T h_j / sqrt(d) (Vaswani et al. 2017): keeps the softmax out of
    saturation as the width d grows. Not part of the pre-transformer story."""

    def __init__(self, query_size: int, key_size: int, attention_size: int = 0):
        super().__init__(query_size, key_size)
        self.scale = 1.0 / math.sqrt(key_size)


class GeneralAttention(Attention):
    """Luong's general score q^T W_a h_j; W_a h_j is prepared once per source."""

    def __init__(self, query_size: int, key_size: int, attention_size: int = 0):
        super().__init__()
        self.key_proj = nn.Linear(key_size, query_size, bias=False)  # W_a

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # (B, S, Hq)

    def score(self, query: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        return torch.bmm(prepared, query.unsqueeze(-1)).squeeze(-1)  # (B, S)


ATTENTION: dict[str, type[Attention]] = {
    "bahdanau": AdditiveAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
    "scaled_dot": ScaledDotAttention,
}

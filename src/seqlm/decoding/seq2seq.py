"""Decoding a seq2seq model: batched greedy search and beam search, both with attention.

Greedy takes the arg-max token at every step for a whole batch of sources at once; rows that
have produced `</s>` keep stepping (cheaper than shrinking the batch) and are cut afterwards.
Beam search is the one beam search of `seqlm.decoding.beam` (one source at a time, the beam
as the batch), with this model's step: the decoder reads the source's memory, and the
attention weights come back as each hypothesis's extras. With width 1 it is greedy exactly.
`<pad>`, `<unk>` and `<s>` are never produced, in either.

Every hypothesis carries its attention matrix: row i holds the weights over the real source
positions when output token i (or the final `</s>`) was produced. Leaves out: batched beam
search, coverage penalties, n-best output, sampling.
"""

from dataclasses import dataclass

import numpy as np
import torch

from seqlm.config import Seq2SeqDecodeConfig
from seqlm.data.batching import pad_sequences
from seqlm.data.pairs import PairVocabs, encode_sources
from seqlm.data.vocab import BOS_ID, EOS_ID
from seqlm.decoding import beam
from seqlm.decoding.beam import Hypothesis
from seqlm.decoding.sampling import NEVER
from seqlm.nn.seq2seq import Seq2Seq, select_state


@dataclass(frozen=True)
class Translation:
    source: str
    output: str
    logprob_nats: float
    weights: np.ndarray | None  # (T_out, len(source)) or None for the no-attention model
    finished: bool


def cut(tokens: list[int], logprobs: list[float], weights: list | None) -> Hypothesis:
    """One greedy row: stop at the first </s> (kept in score and weights, not in tokens)."""
    end = tokens.index(EOS_ID) + 1 if EOS_ID in tokens else len(tokens)
    w = None if weights is None else np.stack(weights[:end])
    total = float(sum(logprobs[:end]))
    return Hypothesis(tokens[: end - (EOS_ID in tokens)], total, total, EOS_ID in tokens, w)


def log_probs(logits: torch.Tensor) -> torch.Tensor:
    """The model's log-probabilities (B, V), with the tokens no output holds ruled out
    (after the softmax: a hypothesis's score stays the model's own probability of it)."""
    logp = torch.log_softmax(logits.float(), -1)
    logp[:, list(NEVER)] = float("-inf")
    return logp


@torch.no_grad()
def greedy(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor,
           max_len: int) -> list[Hypothesis]:
    """Arg-max decoding of a padded batch: src (B, S), lengths (B,) -> one hypothesis per row."""
    memory, state = model.encode(src, lengths)
    prev = torch.full((src.shape[0],), BOS_ID, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    steps = []  # per step: tokens (B,), logprobs (B,), weights (B, S) or None
    for _ in range(max_len):
        logits, state, weights = model.step(prev, state, memory)
        best, prev = log_probs(logits).max(-1)
        steps.append((prev, best, weights))
        done |= prev == EOS_ID
        if bool(done.all()):
            break
    out = []
    for b in range(src.shape[0]):
        n = int(lengths[b])
        w = None if steps[0][2] is None else [s[2][b, :n].float().cpu().numpy() for s in steps]
        out.append(cut([int(s[0][b]) for s in steps], [float(s[1][b]) for s in steps], w))
    return out


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, length: int, max_len: int, width: int,
                alpha: float | None = None) -> Hypothesis:
    """Beam search for one source src (1, S) of `length` real positions: the best
    hypothesis (`seqlm.decoding.beam`; finished ones first)."""
    memory, state = model.encode(src, torch.tensor([length], device=src.device))

    def step(prev: torch.Tensor, state):
        rows = torch.zeros(prev.shape[0], dtype=torch.long, device=src.device)
        logits, state, weights = model.step(prev, state, memory.select(rows))
        return log_probs(logits), state, None if weights is None else weights[:, :length]

    start = torch.tensor([BOS_ID], device=src.device)
    options = {} if alpha is None else {"alpha": alpha}
    return beam.beam_search(step, select_state, start, state, width, max_len,
                            eos_id=EOS_ID, **options)[0]


def translate(model: Seq2Seq, vocabs: PairVocabs, sources: list[str],
              config: Seq2SeqDecodeConfig | None = None) -> list[Translation]:
    """Decode each source string (greedy in batches, or beam search one by one)."""
    config = config or Seq2SeqDecodeConfig()
    ids = encode_sources(vocabs.source, sources, model.config.max_source_len)
    max_len = model.config.max_target_len
    device = next(model.parameters()).device
    model.eval()
    hyps: list[Hypothesis | None] = [None] * len(sources)
    order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths pad little
    for start in range(0, len(order), config.batch_size):
        rows = order[start : start + config.batch_size]
        if config.beam_width == 1:
            batch = pad_sequences([ids[r] for r in rows])
            found = greedy(model, torch.from_numpy(batch.ids).to(device),
                           torch.from_numpy(batch.lengths).to(device), max_len)
        else:
            found = [beam_search(model, torch.from_numpy(ids[r])[None, :].to(device),
                                 len(ids[r]), max_len, config.beam_width, config.length_alpha)
                     for r in rows]
        for r, h in zip(rows, found, strict=True):
            hyps[r] = h
    return [Translation(s, "".join(vocabs.target.decode(h.tokens)), h.logprob_nats, h.weights,
                        h.finished) for s, h in zip(sources, hyps, strict=True)]

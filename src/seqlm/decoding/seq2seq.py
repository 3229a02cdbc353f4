"""Decoding a seq2seq model: batched greedy search and beam search, both with attention.

Greedy takes the arg-max token at every step for a whole batch of sources at once; rows that
have produced `</s>` keep stepping (cheaper than shrinking the batch) and are cut afterwards.
Beam search (one source at a time, the beam as the batch) is split into named steps:
    expand   every alive hypothesis x every token: cumulative log-probabilities (n, V)
    prune    keep the best `k - len(finished)` of the n * V candidates
    finish   candidates that end in `</s>` move to the finished list and shrink the beam
and stops when the beam is exhausted (no alive hypothesis) or at the length limit. Finished
hypotheses are kept, never dropped, and ranked by logprob / length ** alpha (length
normalisation; the length counts `</s>`). With k = 1 this is exactly greedy search.

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
from seqlm.errors import SeqlmError
from seqlm.nn.seq2seq import Seq2Seq, select_state


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[int]  # output ids, without </s>
    logprob_nats: float  # of the tokens and of </s> when finished
    weights: np.ndarray | None  # (T_out, S) attention; T_out counts </s> when finished
    finished: bool  # ended in </s> (False: stopped at the length limit)


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
    return Hypothesis(tokens[: end - (EOS_ID in tokens)], float(sum(logprobs[:end])), w,
                      EOS_ID in tokens)


@torch.no_grad()
def greedy(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor,
           max_len: int) -> list[Hypothesis]:
    """Arg-max decoding of a padded batch: src (B, S), lengths (B,) -> one hypothesis per row."""
    memory, state = model.encode(src, lengths)
    prev = torch.full((src.shape[0],), BOS_ID, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    steps = []  # per step: tokens (B,), logprobs (B,), weights (B, S) or None
    for _ in range(max_len):
        logits, state, weights = model.step(prev, state, memory)
        logp = torch.log_softmax(logits, -1)  # (B, V)
        best, prev = logp.max(-1)
        steps.append((prev, best, weights))
        done |= prev == EOS_ID
        if bool(done.all()):
            break
    out = []
    for b in range(src.shape[0]):
        n = int(lengths[b])
        w = None if steps[0][2] is None else [s[2][b, :n].numpy() for s in steps]
        out.append(cut([int(s[0][b]) for s in steps], [float(s[1][b]) for s in steps], w))
    return out


@dataclass
class Beam:
    """The alive hypotheses of one beam search: token lists, cumulative scores, weights."""

    tokens: list[list[int]]
    scores: torch.Tensor  # (n,) cumulative log-probabilities in nats, float64
    weights: list[list[np.ndarray]]


def expand(model: Seq2Seq, beam: Beam, state, memory) -> tuple[torch.Tensor, tuple, list]:
    """Cumulative log-probabilities (n, V) of every one-token extension of the alive ones."""
    prev = torch.tensor([t[-1] if t else BOS_ID for t in beam.tokens], dtype=torch.long)
    rows = torch.zeros(len(beam.tokens), dtype=torch.long)  # every hypothesis reads source 0
    logits, state, weights = model.step(prev, state, memory.select(rows))
    # float64: adding a long prefix's score must not reorder nearly tied float32 log-probs
    return beam.scores[:, None] + torch.log_softmax(logits, -1).double(), state, weights


def prune(scores: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The `width` best candidates of scores (n, V): (their scores, parent rows, tokens)."""
    top = scores.reshape(-1).topk(width)
    return top.values, top.indices // scores.shape[1], top.indices % scores.shape[1]


def normalised(h: Hypothesis, alpha: float) -> float:
    return h.logprob_nats / max(1, len(h.tokens) + h.finished) ** alpha


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, length: int, max_len: int, width: int,
                alpha: float = 1.0) -> Hypothesis:
    """Beam search for one source src (1, S) of `length` real positions; the best finished
    hypothesis by length-normalised score (alive ones count only if none finished)."""
    if width < 1:
        raise SeqlmError(f"beam size must be at least 1, got {width}")
    memory, state = model.encode(src, torch.tensor([length]))
    beam = Beam([[]], torch.zeros(1, dtype=torch.float64), [[]])
    finished: list[Hypothesis] = []
    for _ in range(max_len):
        scores, state, weights = expand(model, beam, state, memory)
        values, parents, tokens = prune(scores, width - len(finished))
        alive_rows, alive = [], Beam([], values.new_empty(0), [])
        for value, parent, token in zip(values.tolist(), parents.tolist(), tokens.tolist(),
                                        strict=True):
            w = beam.weights[parent] + ([] if weights is None else
                                        [weights[parent, :length].numpy()])
            if token == EOS_ID:
                finished.append(Hypothesis(beam.tokens[parent], value,
                                           np.stack(w) if w else None, True))
            else:
                alive_rows.append(parent)
                alive.tokens.append(beam.tokens[parent] + [token])
                alive.weights.append(w)
        if not alive_rows:
            break  # the beam is exhausted: every slot holds a finished hypothesis
        alive.scores = values[[i for i, t in enumerate(tokens.tolist()) if t != EOS_ID]]
        beam, state = alive, select_state(state, torch.tensor(alive_rows))
    else:
        finished = finished or [Hypothesis(t, float(s), np.stack(w) if w else None, False)
                                for t, s, w in zip(beam.tokens, beam.scores, beam.weights,
                                                   strict=True)]
    return max(finished, key=lambda h: normalised(h, alpha))


def translate(model: Seq2Seq, vocabs: PairVocabs, sources: list[str],
              config: Seq2SeqDecodeConfig | None = None) -> list[Translation]:
    """Decode each source string (greedy in batches, or beam search one by one)."""
    config = config or Seq2SeqDecodeConfig()
    if config.beam_size < 1:
        raise SeqlmError(f"beam size must be at least 1, got {config.beam_size}: use --beam 1 "
                         "for greedy search or a larger width for beam search")
    ids = encode_sources(vocabs.source, sources, model.config.max_source_len)
    max_len = model.config.max_target_len
    model.eval()
    hyps: list[Hypothesis | None] = [None] * len(sources)
    order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths pad little
    for start in range(0, len(order), config.batch_size):
        rows = order[start : start + config.batch_size]
        if config.beam_size == 1:
            batch = pad_sequences([ids[r] for r in rows])
            found = greedy(model, torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths),
                           max_len)
        else:
            found = [beam_search(model, torch.from_numpy(ids[r])[None, :], len(ids[r]), max_len,
                                 config.beam_size, config.length_alpha) for r in rows]
        for r, h in zip(rows, found, strict=True):
            hyps[r] = h
    return [Translation(s, "".join(vocabs.target.decode(h.tokens)), h.logprob_nats, h.weights,
                        h.finished) for s, h in zip(sources, hyps, strict=True)]

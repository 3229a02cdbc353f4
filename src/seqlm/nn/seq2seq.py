"""Encoder-decoder models: a fixed-vector baseline and the attention decoders of 2014-2015.

Encoder: embedding -> seqlm's own GRU or LSTM layer (`seqlm.nn.recurrent`, never torch.nn.GRU),
uni- or bidirectional, told each row's length so padding never changes a final state. A bridge
maps the final states (both directions joined) to the decoder's initial state:
s_0 = tanh(W_b [h_fwd; h_bwd]) (Bahdanau et al. 2015 A.2.2 bridge the backward state only).

Decoders step one token at a time with a seqlm cell (`GRUCell` / `LSTMCell`) and differ where
the papers differ, not only in a score function (y is the previous token's embedding):
    none      Cho et al. 2014 / Sutskever et al. 2014: one summary vector c = [h_fwd; h_bwd]
              of the whole source, fed at every step: s_t = f([y; c], s_{t-1}); the bottleneck.
    bahdanau  Bahdanau et al. 2015: score with the PREVIOUS state s_{t-1}, then
              s_t = f([y; c_t], s_{t-1}); the context enters the recurrence.
              Output: W_o tanh(W_r [s_t; c_t; y]) (their deep output, tanh in place of maxout).
    dot, general, scaled_dot
              Luong et al. 2015: h_t = f([y; h~_{t-1}], h_{t-1}) (input feeding, optional),
              score with the CURRENT state h_t, h~_t = tanh(W_c [c_t; h_t]), output W_s h~_t.
              scaled_dot is the transformer's score (Vaswani et al. 2017), a later extension.

Decoder states are tuples of (B, ...) tensors so beam search can reorder them with one
`index_select`. Leaves out: stacked decoders, dropout, maxout, tied embeddings, coverage.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from seqlm.config import Seq2SeqModelConfig
from seqlm.data.vocab import PAD_ID
from seqlm.errors import SeqlmError
from seqlm.nn.attention import ATTENTION
from seqlm.nn.cells import GRUCell, LSTMCell
from seqlm.nn.recurrent import GRU, LSTM

State = tuple[torch.Tensor, ...]  # every tensor (B, ...): reorder rows with index_select


class Memory(NamedTuple):
    """What the decoder reads from the encoder, per source row."""

    keys: torch.Tensor  # (B, S, Hk) encoder outputs
    prepared: torch.Tensor  # (B, S, *) the attention's query-free part of the score
    mask: torch.Tensor  # (B, S) True on real source positions
    summary: torch.Tensor  # (B, Hk) final encoder states, both directions joined

    def select(self, rows: torch.Tensor) -> "Memory":
        return Memory(*(t.index_select(0, rows) for t in self))


def select_state(state: State, rows: torch.Tensor) -> State:
    return tuple(t.index_select(0, rows) for t in state)


class Encoder(nn.Module):
    """Embedding -> seqlm GRU/LSTM, padding-aware. src (B, S), lengths (B,) ->
    outputs (B, S, D*H) (zero on padding), final h (B, D*H), final c (B, D*H) or None."""

    def __init__(self, vocab_size: int, config: Seq2SeqModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        layer = {"gru": GRU, "lstm": LSTM}[config.cell]
        self.rnn = layer(config.embedding_dim, config.hidden_size, batch_first=True,
                         bidirectional=config.bidirectional)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor):
        outputs, final = self.rnn.forward_state(self.embedding(src), None, lengths)  # (B, S, D*H)
        h_n, c_n = final if len(final) == 2 else (final[0], None)  # (D, B, H) each
        join = lambda t: None if t is None else torch.cat(list(t), dim=-1)  # noqa: E731
        return outputs, join(h_n), join(c_n)


class DecoderCell(nn.Module):
    """A GRUCell or LSTMCell behind one tuple state: (h,) or (h, c)."""

    def __init__(self, kind: str, input_size: int, hidden_size: int):
        super().__init__()
        self.is_lstm = kind == "lstm"
        self.cell = (LSTMCell if self.is_lstm else GRUCell)(input_size, hidden_size)

    def forward(self, x: torch.Tensor, state: State) -> State:
        if self.is_lstm:
            return self.cell(x, (state[0], state[1]))
        return (self.cell(x, state[0]),)


class Bridge(nn.Module):
    """Final encoder states -> initial decoder state: h_0 = tanh(W_h h_enc), c_0 = W_c c_enc."""

    def __init__(self, kind: str, key_size: int, hidden_size: int):
        super().__init__()
        self.h = nn.Linear(key_size, hidden_size)
        self.c = nn.Linear(key_size, hidden_size) if kind == "lstm" else None

    def forward(self, h_enc: torch.Tensor, c_enc: torch.Tensor | None) -> State:
        h0 = torch.tanh(self.h(h_enc))  # (B, Hd)
        return (h0,) if self.c is None else (h0, self.c(c_enc))


class Decoder(nn.Module):
    """One step: prev (B,), state, memory -> logits (B, V), state, weights (B, S) or None."""

    def __init__(self, vocab_size: int, key_size: int, config: Seq2SeqModelConfig,
                 hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.hidden_size = hidden_size

    def start(self, state: State) -> State:
        """The step state from the bridged encoder state."""
        return state

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        return keys


class FixedContextDecoder(Decoder):
    """No attention: the same summary vector c at every step (the bottleneck)."""

    def __init__(self, vocab_size, key_size, config, hidden_size):
        super().__init__(vocab_size, key_size, config, hidden_size)
        E = config.embedding_dim
        self.cell = DecoderCell(config.cell, E + key_size, hidden_size)
        self.readout = nn.Linear(hidden_size + key_size + E, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def step(self, prev, state, memory):
        y = self.embedding(prev)  # (B, E)
        c = memory.summary  # (B, Hk): the same vector at every step
        state = self.cell(torch.cat([y, c], -1), state)
        logits = self.out(torch.tanh(self.readout(torch.cat([state[0], c, y], -1))))
        return logits, state, None


class BahdanauDecoder(Decoder):
    """Additive attention queried by s_{t-1}; the context is an input of the recurrence."""

    def __init__(self, vocab_size, key_size, config, hidden_size):
        super().__init__(vocab_size, key_size, config, hidden_size)
        E = config.embedding_dim
        self.attention = ATTENTION["bahdanau"](hidden_size, key_size, config.attention_size)
        self.cell = DecoderCell(config.cell, E + key_size, hidden_size)
        self.readout = nn.Linear(hidden_size + key_size + E, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def prepare(self, keys):
        return self.attention.prepare(keys)

    def step(self, prev, state, memory):
        y = self.embedding(prev)  # (B, E)
        context, weights = self.attention(state[0], memory.keys, memory.prepared, memory.mask)
        state = self.cell(torch.cat([y, context], -1), state)  # s_t from s_{t-1}, y, c_t
        logits = self.out(torch.tanh(self.readout(torch.cat([state[0], context, y], -1))))
        return logits, state, weights


class LuongDecoder(Decoder):
    """Attention queried by h_t; attentional state h~_t = tanh(W_c [c_t; h_t]), fed back into
    the next input when `input_feeding`. The state tuple is (*cell state, h~_{t-1})."""

    def __init__(self, vocab_size, key_size, config, hidden_size, score: str):
        super().__init__(vocab_size, key_size, config, hidden_size)
        E = config.embedding_dim
        self.input_feeding = config.input_feeding
        self.attention = ATTENTION[score](hidden_size, key_size, config.attention_size)
        self.cell = DecoderCell(config.cell, E + (hidden_size if self.input_feeding else 0),
                                hidden_size)
        self.combine = nn.Linear(key_size + hidden_size, hidden_size, bias=False)  # W_c
        self.out = nn.Linear(hidden_size, vocab_size)  # W_s

    def start(self, state):
        return (*state, torch.zeros_like(state[0]))  # h~_0 = 0

    def prepare(self, keys):
        return self.attention.prepare(keys)

    def step(self, prev, state, memory):
        *cell_state, feed = state
        y = self.embedding(prev)  # (B, E)
        x = torch.cat([y, feed], -1) if self.input_feeding else y
        cell_state = self.cell(x, tuple(cell_state))
        h = cell_state[0]  # (B, Hd): the current state is the query
        context, weights = self.attention(h, memory.keys, memory.prepared, memory.mask)
        attentional = torch.tanh(self.combine(torch.cat([context, h], -1)))  # h~_t
        return self.out(attentional), (*cell_state, attentional), weights


def build_decoder(vocab_size: int, key_size: int, config: Seq2SeqModelConfig) -> Decoder:
    """The decoder named by `config.attention` (the one branch, taken at construction)."""
    hidden = key_size  # the decoder is as wide as the encoder output, so dot scores apply
    if config.attention == "none":
        return FixedContextDecoder(vocab_size, key_size, config, hidden)
    if config.attention == "bahdanau":
        return BahdanauDecoder(vocab_size, key_size, config, hidden)
    if config.attention in ("dot", "general", "scaled_dot"):
        return LuongDecoder(vocab_size, key_size, config, hidden, score=config.attention)
    raise SeqlmError(f"unknown attention {config.attention!r}: choose none, bahdanau, dot, "
                     "general or scaled_dot")


class Seq2Seq(nn.Module):
    """Encoder + bridge + decoder. `forward(src, src_lengths, tgt_in, targets)` ->
    (logits (B, T, V), loss in nats per target token or None, weights (B, T, S) or None)."""

    def __init__(self, config: Seq2SeqModelConfig, src_vocab_size: int, tgt_vocab_size: int):
        super().__init__()
        if config.cell not in ("gru", "lstm"):
            raise SeqlmError(f"unknown cell {config.cell!r}: choose gru or lstm")
        self.config = config
        key_size = config.hidden_size * (2 if config.bidirectional else 1)
        self.encoder = Encoder(src_vocab_size, config)
        self.bridge = Bridge(config.cell, key_size, key_size)
        self.decoder = build_decoder(tgt_vocab_size, key_size, config)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[Memory, State]:
        """src (B, S), lengths (B,) -> the memory to attend to and the first decoder state."""
        keys, h_enc, c_enc = self.encoder(src, lengths)
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]
        memory = Memory(keys, self.decoder.prepare(keys), mask, h_enc)
        return memory, self.decoder.start(self.bridge(h_enc, c_enc))

    def step(self, prev: torch.Tensor, state: State, memory: Memory):
        """prev (B,) -> logits (B, V), next state, attention weights (B, S) or None."""
        return self.decoder.step(prev, state, memory)

    def forward(self, src, src_lengths, tgt_in, targets=None, teacher_prob: float = 1.0,
                generator: torch.Generator | None = None):
        """Teacher forcing when `teacher_prob` is 1; otherwise scheduled sampling: for each
        token after the first, a coin with P(heads) = teacher_prob decides between the gold
        previous token and one sampled from the model's own previous distribution (Bengio et
        al. 2015, sec. 2.4). The sample is not differentiated through."""
        memory, state = self.encode(src, src_lengths)
        prev = tgt_in[:, 0]
        all_logits, all_weights = [], []
        for t in range(tgt_in.shape[1]):
            if t > 0:
                prev = self.choose_input(tgt_in[:, t], all_logits[-1], teacher_prob, generator)
            logits, state, weights = self.step(prev, state, memory)
            all_logits.append(logits)
            all_weights.append(weights)
        logits = torch.stack(all_logits, 1)  # (B, T, V)
        weights = None if all_weights[0] is None else torch.stack(all_weights, 1)  # (B, T, S)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                   ignore_index=PAD_ID)
        return logits, loss, weights

    @staticmethod
    def choose_input(gold, last_logits, teacher_prob, generator):
        """The next input: gold (B,) tokens, or per-token samples from `last_logits` (B, V)."""
        if teacher_prob >= 1.0:
            return gold
        probs = torch.softmax(last_logits.detach(), -1)
        sampled = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        heads = torch.rand(gold.shape, generator=generator, device=gold.device) < teacher_prob
        keep_pad = gold == PAD_ID  # padding stays padding: its loss is masked anyway
        return torch.where(heads | keep_pad, gold, sampled)

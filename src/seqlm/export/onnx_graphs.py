"""The functions an ONNX file holds: a model's one step, its recurrent state passed explicitly.

    LM step        tokens (B,) int64, state_0 .. state_k (L, B, H)
                   -> logits (B, V), state_0_out .. state_k_out (L, B, H)
                   RNN / GRU / minGRU / minLSTM: state (h,); LSTM: (h, c)
    seq2seq        encoder   source (B, S) int64, lengths (B,) int64
                             -> keys (B, S, Hk), prepared (B, S, *), mask (B, S) bool,
                                summary (B, Hk), state_0 .. state_k (B, Hd)
                   decoder   previous (B,) int64, state_0 .. state_k (B, Hd), keys, prepared,
                             mask, summary -> logits (B, V), state_0_out .. state_k_out,
                             attention (B, S)   (no attention output for attention "none")

The LM step of an RNN / LSTM / GRU stack is `seqlm.export.onnx_cells.CellStackStep`, torch's
cell equations in the fewest ONNX nodes (at batch 1 each node costs onnxruntime about a
microsecond beside the products); a minGRU / minLSTM stack is traced through the model's own
batch-1 stepper (`RecurrentLM.stepper()`) on torch ops only; the seq2seq graphs call the
model's own `encode` and `step`. Every graph
is a plain `nn.Module` whose `forward(*inputs)` takes and returns flat tensors, the form
`torch.onnx.export` takes. The encoder runs a fixed source length S (its loop over time is
unrolled); shorter sources are padded and told their lengths, which the padding-aware encoder
makes exact. Leaves out: beam search inside the graph, a dynamic source length.
"""

import torch
from torch import Tensor, nn

from seqlm.data.vocab import PAD_ID
from seqlm.export.onnx_cells import CellStackStep
from seqlm.nn.fast.stepper import LMStepper
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.min_rnn import MinRecurrent
from seqlm.nn.seq2seq import Memory, Seq2Seq


class LMStep(nn.Module):
    """`forward(tokens (B,), *state) -> (logits (B, V), *state)` of a RecurrentLM."""

    def __init__(self, model: RecurrentLM):
        super().__init__()
        self.model = model.eval()  # a submodule: parameters the stepper uses stay parameters
        if isinstance(model.rnn, MinRecurrent):
            with torch.no_grad():
                self.stepper = LMStepper(model, eager=True)
        else:
            self.stepper = CellStackStep(model)
        self.state_size = self.stepper.state_size
        self.layers, self.hidden = self.stepper.num_layers, self.stepper.hidden_size

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        tokens, state = inputs[0], inputs[1:]
        logits, state = self.stepper(tokens, tuple(state))  # (B, V), ((L, B, H), ...)
        return (logits, *state)

    def example(self, batch: int) -> tuple[Tensor, ...]:
        # one tensor per part: torch.export would take one tensor passed twice as one input
        zeros = [torch.zeros(self.layers, batch, self.hidden) for _ in range(self.state_size)]
        return (torch.zeros(batch, dtype=torch.long), *zeros)


class Seq2SeqEncoder(nn.Module):
    """`forward(source (B, S), lengths (B,)) -> (keys, prepared, mask, summary, *state)`."""

    def __init__(self, model: Seq2Seq, source_length: int):
        super().__init__()
        self.model = model.eval()
        self.source_length = source_length

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        source, lengths = inputs
        memory, state = self.model.encode(source, lengths)
        return (*memory, *state)

    def example(self, batch: int) -> tuple[Tensor, Tensor]:
        source = torch.full((batch, self.source_length), PAD_ID, dtype=torch.long)
        return source, torch.full((batch,), self.source_length, dtype=torch.long)


class Seq2SeqDecoderStep(nn.Module):
    """`forward(previous (B,), *state, keys, prepared, mask, summary) -> (logits (B, V),
    *state, [attention (B, S)])`."""

    def __init__(self, model: Seq2Seq, state_size: int, attends: bool):
        super().__init__()
        self.model = model.eval()
        self.state_size, self.attends = state_size, attends

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        previous, rest = inputs[0], inputs[1:]
        state, memory = rest[: self.state_size], Memory(*rest[self.state_size :])
        logits, state, weights = self.model.step(previous, tuple(state), memory)
        return (logits, *state, *((weights,) if self.attends else ()))


def seq2seq_graphs(model: Seq2Seq, source_length: int
                   ) -> tuple[Seq2SeqEncoder, Seq2SeqDecoderStep, tuple[Tensor, ...]]:
    """The encoder and decoder-step modules, and the decoder's example inputs (B = 1)."""
    encoder = Seq2SeqEncoder(model, source_length)
    with torch.no_grad():
        memory, state = model.encode(*encoder.example(1))
    attends = model.config.attention != "none"
    decoder = Seq2SeqDecoderStep(model, len(state), attends)
    # clones: some decoders' `prepared` is `keys` itself, and torch.export would take one
    # tensor passed twice as one input
    example = tuple(t.clone() for t in (*state, *memory))
    return encoder, decoder, (torch.zeros(1, dtype=torch.long), *example)

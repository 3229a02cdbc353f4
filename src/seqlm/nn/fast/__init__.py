"""The fast variants of the textbook cells, kept apart so `seqlm.nn.cells` reads as the
equations: tanh through sigmoid (`activations`), the matrix products of a fused recurrence,
prepacked and in bf16 on the CPU (`matmul`), each cell's direction as one autograd node
with its backward written out (`lstm`, `gru`, `rnn`), and batch-1 stepping with weights
prepared once (`stepper`), and the compiled step kernels that replace each step's
elementwise torch ops (`kernels.cpp`, built and cached by `kernels`, used by `compiled`),
and layer 0's input projection gathered from a per-token table (`table`).
`SEQUENCES` is the registry the recurrent layers consult for a whole-sequence path of a cell
kind (eager ops), `COMPILED` the same paths on the compiled kernels, `KERNEL_SEQUENCES` picks
one by the `kernels` option's resolved value; a kind without one steps through its textbook
cell.

Every sequence path has the call `sequence(x (T, B, E), w_ih, b, b_step, state, w_hh,
dtype=None, *, ids=None) -> (output (T, B, H), state)`: b the input bias (b_ih + b_hh where
the kind folds them), b_step the per-step bias (GRU's b_hh, else None), dtype the products'
dtype; with ids (T, B), x is the (V, G) table of input projections and w_ih, b are None
(`table`: layer 0 of an LM)."""

from seqlm.nn.fast.compiled import COMPILED
from seqlm.nn.fast.gru import gru_sequence
from seqlm.nn.fast.lstm import lstm_sequence
from seqlm.nn.fast.rnn import rnn_sequence

SEQUENCES = {"lstm": lstm_sequence, "gru": gru_sequence,
             "rnn_tanh": rnn_sequence(relu=False), "rnn_relu": rnn_sequence(relu=True)}

KERNEL_SEQUENCES = {"eager": SEQUENCES, "compiled": COMPILED}

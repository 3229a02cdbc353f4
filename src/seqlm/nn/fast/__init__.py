"""The fast variants of the textbook cells, kept apart so `seqlm.nn.cells` reads as the
equations: tanh through sigmoid (`activations`), the LSTM direction as one autograd node with
its backward written out (`lstm`), and batch-1 stepping with weights prepared once
(`stepper`). `SEQUENCES` is the registry the recurrent layers consult for a whole-sequence
path of a cell kind; a kind without one steps through its textbook cell."""

from seqlm.nn.fast.lstm import lstm_sequence

SEQUENCES = {"lstm": lstm_sequence}

"""The registry of recurrent cells: a name chosen once, at construction.

`make_cell("lstm", E, H, rng)` returns an `LSTMCell`; nothing downstream asks which cell it
holds. Leaves out: user-registered cells.
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.reference.cell import Cell
from seqlm.reference.gru import GRUCell
from seqlm.reference.lstm import LSTMCell
from seqlm.reference.rnn import RNNCell

CELLS: dict[str, type[Cell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(name: str, input_size: int, hidden_size: int, rng: np.random.Generator,
              dtype: type = np.float64, forget_bias: float = 1.0) -> Cell:
    try:
        cls = CELLS[name]
    except KeyError:
        raise SeqlmError(f"unknown cell {name!r}: choose one of {', '.join(CELLS)}") from None
    return cls(input_size, hidden_size, rng, dtype=dtype, forget_bias=forget_bias)

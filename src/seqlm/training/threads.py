"""Torch's thread count for the length of one training call, restored afterwards.

Small recurrent models on a 2-core machine often train faster on one thread than on two that
compete with everything else; the choice belongs to the call, not to the process, so a
library function that trains must not leave `torch.set_num_threads` changed behind it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` torch threads (None: leave them), then restore the previous
    count: a library call must not change the process for whatever runs after it."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)

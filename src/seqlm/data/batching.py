"""Batching: contiguous streams in the TBPTT layout for language models, padded batches for
seq2seq.

The language-model layout (pytorch/examples word_language_model's `batchify`), for the ids
0..23 with B = 4 streams and windows of T = 2:

    ids      0 1 2 3 4 5 | 6 7 8 9 10 11 | 12 13 14 15 16 17 | 18 19 20 21 22 23
    streams (B, L) = (4, 6), each a contiguous slice of the text, read along its row:
        row 0:   0  1 |  2  3 |  4  5
        row 1:   6  7 |  8  9 | 10 11
        row 2:  12 13 | 14 15 | 16 17
        row 3:  18 19 | 20 21 | 22 23
    window i: x = streams[:, i*T : i*T+T]      y = streams[:, i*T+1 : i*T+T+1]
        window 0: x = [[0 1] [6 7] [12 13] [18 19]]   y = [[1 2] [7 8] [13 14] [19 20]]
        window 1: x = [[2 3] ...]                      y = [[3 4] ...]
        window 2: x = [[4] [10] [16] [22]]             y = [[5] [11] [17] [23]]  (shorter)

Row b of window i+1 continues row b of window i, so the recurrent state carried from one
window to the next belongs to the same stream (truncated BPTT). The tail that does not fill
all B rows (N mod B tokens) is dropped. Every token but the first of each row is a target
exactly once.

Several processes (fairseq's truncated-BPTT layout): the text is cut into B x ranks rows and
rank r owns rows r*B .. r*B + B - 1, so R ranks of B streams read exactly the windows of one
process with R*B, and each rank carries the state of its own rows only. The ids above with
2 ranks of B = 2 streams:

    rank 0:  row 0:   0  1 |  2  3 |  4  5        rank 1:  row 2:  12 13 | 14 15 | 16 17
             row 1:   6  7 |  8  9 | 10 11                 row 3:  18 19 | 20 21 | 22 23

With accumulation (`engine.accumulate` = A) a rank asks for A*B streams and micro-batch j is
its rows j*B .. j*B + B - 1, so rank r's micro-batch j holds the rows (r*A + j)*B + b of the
whole layout. 2 ranks, A = 2, B = 1:

    rank 0:  micro 0 = row 0:   0  1 |  2  3 |  4  5     micro 1 = row 1:   6  7 |  8  9 | 10 11
    rank 1:  micro 0 = row 2:  12 13 | 14 15 | 16 17     micro 1 = row 3:  18 19 | 20 21 | 22 23

Leaves out: shuffling (it would break the streams) and bucketing.
"""

from dataclasses import dataclass

import numpy as np

from seqlm.data.vocab import PAD_ID
from seqlm.errors import SeqlmError


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut `ids` into `batch_size` contiguous rows, dropping the tail: (N,) -> (B, N // B)."""
    if batch_size < 1:
        raise SeqlmError(f"batch size must be at least 1, got {batch_size}")
    length = len(ids) // batch_size
    return np.asarray(ids[: length * batch_size], dtype=np.int64).reshape(batch_size, length)


class LMBatches:
    """TBPTT windows over B contiguous streams; `window(i)` gives `(x, y)`, each (B, T_i).
    With `ranks` > 1 the text is cut into B x ranks streams and this holds rank `rank`'s B."""

    def __init__(self, ids: np.ndarray, batch_size: int, window: int, split: str = "train",
                 ranks: int = 1, rank: int = 0, accumulate: int = 1):
        if window < 1:
            raise SeqlmError(f"window must be at least 1, got {window}")
        if not 0 <= rank < ranks:
            raise ValueError(f"rank {rank} is not one of {ranks} ranks")
        needed = batch_size * ranks * (window + 1)
        if len(ids) < needed:
            processes = f"{ranks} processes x " if ranks > 1 else ""
            fewer = ", start fewer processes (torchrun's `--nproc_per_node`)" if ranks > 1 else ""
            rows = f"batch size {batch_size // accumulate} x --accumulate {accumulate}" \
                if accumulate > 1 else f"batch size {batch_size}"
            lower = "--accumulate, --batch-size" if accumulate > 1 else "--batch-size"
            raise SeqlmError(
                f"the {split} split has {len(ids)} tokens, too few for {processes}{rows} x "
                f"window {window} (needs at least {needed}): lower {lower} or --window{fewer}, "
                "or use a larger corpus"
            )
        rows = batchify(ids, batch_size * ranks)  # (ranks * B, L): the whole layout
        self.streams = rows[rank * batch_size:(rank + 1) * batch_size]  # (B, L): this rank's
        self.batch_size = batch_size
        self.window_size = window

    def __len__(self) -> int:
        length = self.streams.shape[1]
        return -(-(length - 1) // self.window_size)  # ceil((L - 1) / T)

    @property
    def num_tokens(self) -> int:
        """Number of targets over all windows: B * (L - 1)."""
        return self.streams.shape[0] * (self.streams.shape[1] - 1)

    def window(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of window `i`, each (B, T); the last window may be shorter."""
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range 0..{len(self) - 1}")
        start = i * self.window_size
        stop = min(start + self.window_size, self.streams.shape[1] - 1)
        return self.streams[:, start:stop], self.streams[:, start + 1 : stop + 1]

    def __iter__(self):
        for i in range(len(self)):
            yield self.window(i)


@dataclass(frozen=True)
class PaddedBatch:
    """Variable-length sequences padded to one length S: ids (B, S), lengths (B,), mask (B, S)
    with True on real positions."""

    ids: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray


def pad_sequences(seqs: list[np.ndarray] | list[list[int]], pad_id: int = PAD_ID) -> PaddedBatch:
    """Right-pad `seqs` with `pad_id` to the longest length."""
    if not seqs:
        raise SeqlmError("cannot pad an empty batch: give at least one sequence")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if (lengths == 0).any():
        raise SeqlmError("empty sequence in batch: every source and target needs a token")
    ids = np.full((len(seqs), int(lengths.max())), pad_id, dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
    mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    return PaddedBatch(ids=ids, lengths=lengths, mask=mask)

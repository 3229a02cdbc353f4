import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlm.data.batching import LMBatches, batchify, pad_sequences
from seqlm.errors import SeqlmError


def test_layout_is_exactly_the_docstring_drawing():
    batches = LMBatches(np.arange(24), batch_size=4, window=2)
    assert batches.streams.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11],
                                        [12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]]
    assert len(batches) == 3
    x, y = batches.window(0)
    assert x.tolist() == [[0, 1], [6, 7], [12, 13], [18, 19]]
    assert y.tolist() == [[1, 2], [7, 8], [13, 14], [19, 20]]
    x, y = batches.window(1)
    assert x[0].tolist() == [2, 3] and y[0].tolist() == [3, 4]
    x, y = batches.window(2)
    assert x.tolist() == [[4], [10], [16], [22]]
    assert y.tolist() == [[5], [11], [17], [23]]


@given(n=st.integers(10, 400), b=st.integers(1, 6), t=st.integers(1, 9))
def test_every_token_is_a_target_once_and_windows_continue_streams(n, b, t):
    if n < b * (t + 1):
        with pytest.raises(SeqlmError, match="too few"):
            LMBatches(np.arange(n), b, t)
        return
    batches = LMBatches(np.arange(n), b, t)
    xs = np.concatenate([x for x, _ in batches], axis=1)
    ys = np.concatenate([y for _, y in batches], axis=1)
    streams = batchify(np.arange(n), b)
    assert (xs == streams[:, :-1]).all()
    assert (ys == streams[:, 1:]).all()
    # targets: every kept token except each stream's first, once each
    assert sorted(ys.ravel().tolist()) == sorted(set(range(b * (n // b))) - set(streams[:, 0]))
    assert batches.num_tokens == ys.size


def test_too_small_split_names_the_fix():
    with pytest.raises(SeqlmError, match="lower --batch-size or --window"):
        LMBatches(np.arange(50), batch_size=32, window=100, split="valid")


def test_padding_lengths_and_mask():
    batch = pad_sequences([[5, 6, 7], [8]])
    assert batch.ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch.lengths.tolist() == [3, 1]
    assert batch.mask.tolist() == [[True, True, True], [True, False, False]]
    with pytest.raises(SeqlmError):
        pad_sequences([[1], []])
    with pytest.raises(SeqlmError):
        pad_sequences([])

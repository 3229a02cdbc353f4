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


def test_ranks_own_contiguous_blocks_of_streams_as_drawn():
    ranks = [LMBatches(np.arange(24), batch_size=2, window=2, ranks=2, rank=r) for r in (0, 1)]
    assert ranks[0].streams.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert ranks[1].streams.tolist() == [[12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]]
    one = LMBatches(np.arange(24), batch_size=4, window=2)
    for i in range(len(one)):  # 2 ranks of B = 2 read exactly the windows of one with 4
        x, y = one.window(i)
        assert np.array_equal(np.concatenate([r.window(i)[0] for r in ranks]), x)
        assert np.array_equal(np.concatenate([r.window(i)[1] for r in ranks]), y)


def test_ranks_with_accumulation_as_drawn():
    # each rank asks for A*B = 2 streams; micro-batch j is its row j (B = 1)
    rows = {(r, j): LMBatches(np.arange(24), batch_size=2, window=2, ranks=2, rank=r)
            .streams[j:j + 1].tolist() for r in (0, 1) for j in (0, 1)}
    assert rows == {(0, 0): [[0, 1, 2, 3, 4, 5]], (0, 1): [[6, 7, 8, 9, 10, 11]],
                    (1, 0): [[12, 13, 14, 15, 16, 17]], (1, 1): [[18, 19, 20, 21, 22, 23]]}


@given(n=st.integers(20, 400), b=st.integers(1, 4), ranks=st.integers(1, 4),
       t=st.integers(1, 6))
def test_ranks_split_the_streams_of_one_process(n, b, ranks, t):
    if n < b * ranks * (t + 1):
        with pytest.raises(SeqlmError, match="too few" + (" for .* processes" if ranks > 1
                                                           else "")):
            LMBatches(np.arange(n), b, t, ranks=ranks, rank=0)
        return
    whole = LMBatches(np.arange(n), b * ranks, t).streams
    parts = [LMBatches(np.arange(n), b, t, ranks=ranks, rank=r).streams for r in range(ranks)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_a_world_too_large_for_the_text_names_the_processes():
    with pytest.raises(SeqlmError, match="too few for 4 processes x batch size 2 x window 5 "
                       r"\(needs at least 48\).*start fewer processes"):
        LMBatches(np.arange(40), batch_size=2, window=5, ranks=4, rank=3)


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

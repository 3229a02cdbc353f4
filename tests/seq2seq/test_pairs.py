import numpy as np
import pytest

from seqlm.data.pairs import PairBatches, PairVocabs, encode_sources, encode_targets
from seqlm.data.vocab import BOS_ID, EOS_ID, UNK_ID
from seqlm.errors import SeqlmError


def test_targets_shift_by_one(vocabs):
    inputs, outputs = encode_targets(vocabs.target, ["2000-05-01"])
    assert inputs[0][0] == BOS_ID and outputs[0][-1] == EOS_ID
    assert np.array_equal(inputs[0][1:], outputs[0][:-1])
    assert vocabs.target.decode(outputs[0][:-1]) == list("2000-05-01")


def test_vocabularies_round_trip(vocabs):
    assert PairVocabs.from_dict(vocabs.to_dict()) == vocabs
    assert set(vocabs.target.itos[4:]) <= set("0123456789-")


def test_unknown_characters_warn_and_become_unk(vocabs):
    with pytest.warns(UserWarning, match="'@'"):
        ids = encode_sources(vocabs.source, ["1@2"], 10)[0]
    assert ids[1] == UNK_ID


def test_each_epoch_uses_every_pair_once_in_a_seeded_order(pairs, vocabs):
    batches = PairBatches(pairs, vocabs, 8, seed=5, max_source_len=160, bucket=3)
    assert len(batches) == len(pairs) // 8
    epoch = [batches.batch(i).index for i in range(len(batches))]
    seen = np.concatenate(epoch)
    assert len(set(seen.tolist())) == len(seen) == len(batches) * 8
    again = PairBatches(pairs, vocabs, 8, seed=5, max_source_len=160, bucket=3)
    assert all(np.array_equal(a, again.batch(i).index) for i, a in enumerate(epoch))
    cache: dict = {}
    later = batches.batch(len(batches) + 2, cache)  # epoch 1, asked for directly
    assert np.array_equal(later.index, batches.epoch_order(1)[2])
    assert not np.array_equal(batches.epoch_order(0)[0], batches.epoch_order(1)[0])


def test_buckets_pad_less_than_random_batches(pairs, vocabs):
    bucketed = PairBatches(pairs, vocabs, 8, seed=0, max_source_len=160, bucket=15)
    unsorted = PairBatches(pairs, vocabs, 8, seed=0, max_source_len=160, bucket=1)

    def padding(b):
        return sum((~b.batch(i).source.mask).sum() for i in range(len(b)))

    assert padding(bucketed) < 0.5 * padding(unsorted)


def test_too_few_pairs_is_a_clear_error(pairs, vocabs):
    with pytest.raises(SeqlmError, match="fewer than the batch size"):
        PairBatches(pairs[:3], vocabs, 8, seed=0, max_source_len=160)


def test_ranks_read_disjoint_shards_of_each_bucketed_batch(pairs, vocabs):
    one = PairBatches(pairs, vocabs, 8, seed=5, max_source_len=160, bucket=3)
    two = PairBatches(pairs, vocabs, 4, seed=5, max_source_len=160, bucket=3, ranks=2)
    assert len(two) == len(one)  # a batch of 4 pairs on each of 2 ranks is one batch of 8
    for i in (0, 1, len(one) + 1):  # reshuffled per epoch, as one process's batches are
        whole = one.batch(i).index
        shards = [two.shard(i, r) for r in (0, 1)]
        assert np.array_equal(shards[0], whole[0::2]) and np.array_equal(shards[1], whole[1::2])
        assert not set(shards[0].tolist()) & set(shards[1].tolist())
    lengths = one.lengths[one.batch(0).index]
    assert (np.diff(lengths) >= 0).all()  # sorted by source length: the shards alternate
    assert not np.array_equal(two.shard(0, 0), two.shard(len(two), 0))


def test_too_few_pairs_for_the_processes_names_them(pairs, vocabs):
    with pytest.raises(SeqlmError, match="fewer than 4 processes x the batch size 8.*"
                                         "start fewer processes"):
        PairBatches(pairs[:30], vocabs, 8, seed=0, max_source_len=160, ranks=4)

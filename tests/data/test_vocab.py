import json

import numpy as np
import pytest

from seqlm.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from seqlm.errors import SeqlmError


def test_specials_have_fixed_ids():
    v = Vocab.build(["b", "a", "b"])
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert v.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert v.itos[4:] == ["b", "a"]  # by frequency


def test_ties_keep_first_appearance_and_specials_are_not_duplicated():
    v = Vocab.build(["x", "</s>", "y", "x", "y", "z"])
    assert v.itos[4:] == ["x", "y", "z"]
    assert v.stoi["</s>"] == EOS_ID


def test_min_freq_and_max_size():
    tokens = list("aaabbc")
    assert Vocab.build(tokens, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(tokens, max_size=1).itos[4:] == ["a"]
    with pytest.raises(SeqlmError):
        Vocab.build(tokens, min_freq=0)


def test_encode_decode_and_unknown():
    v = Vocab.build("hello")
    ids = v.encode("hex")
    assert ids.dtype == np.int64
    assert v.decode(ids) == ["h", "e", "<unk>"]
    assert v.oov("hexxy") == ["x", "y"]


def test_save_load_round_trip(tmp_path):
    v = Vocab.build(["the", "cat", "sat"])
    path = v.save(tmp_path / "vocab.json")
    assert Vocab.load(path) == v


def test_load_rejects_foreign_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"itos": ["a", "b"]}))
    with pytest.raises(SeqlmError, match="not a seqlm vocabulary"):
        Vocab.load(bad)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(SeqlmError, match="not valid JSON"):
        Vocab.load(tmp_path / "broken.json")
    with pytest.raises(SeqlmError, match="does not exist"):
        Vocab.load(tmp_path / "missing.json")

import pytest

from seqlm.config import CorpusConfig, LabConfig, from_dict, to_dict
from seqlm.errors import SeqlmError


def test_config_round_trip_keeps_tuples():
    cfg = CorpusConfig(name="verbs", seed=3, hold_out_verbs=("go", "work"))
    assert from_dict(CorpusConfig, to_dict(cfg)) == cfg
    lab = LabConfig(quick=True, steps=("corpora",))
    assert from_dict(LabConfig, to_dict(lab)) == lab


def test_unknown_field_is_named():
    with pytest.raises(SeqlmError, match="colour"):
        from_dict(CorpusConfig, {"name": "verbs", "colour": "red"})

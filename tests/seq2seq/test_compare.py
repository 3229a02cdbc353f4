from seqlm.config import compare_preset
from seqlm.lab.seq2seq_compare import against_targets, preset_config


def result(plain, long):
    return {"test": {"plain": {"exact_match": {"accuracy": plain}},
                     "long": {"exact_match": {"accuracy": long}}}}


def test_targets_are_reported_as_measured():
    lines = against_targets({"none": result(0.97, 0.90), "bahdanau": result(0.999, 0.99),
                             "general": result(0.99, 0.97)})
    assert "or more on plain dates: 1 of 2 (Bahdanau (additive))" in lines[1]
    assert "or more on dates inside longer text: 1 of 2" in lines[2]
    assert "by 9.0 points, where the bottleneck should cost 15 or more: not shown" in lines[3]
    lines = against_targets({"none": result(0.9, 0.5), "general": result(0.99, 0.7)})
    assert "by 20.0 points, where the bottleneck should cost 15 or more: shown" in lines[-1]


def test_stress_preset_trains_a_one_way_encoder_on_long_inputs():
    config = preset_config(compare_preset("stress"), "bahdanau", seed=0)
    assert config.regimes == ("long",) and not config.model.bidirectional
    full = preset_config(compare_preset("full"), "bahdanau", seed=0)
    assert full.regimes == ("plain", "long") and full.model.bidirectional
    assert config.train == full.train  # the same budget, schedule and seed

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


# the family configs: what one training run is made of
FAMILY = ("TrainConfig", "LMConfig", "EngineConfig", "ScheduleConfig", "CorpusConfig",
          "Seq2SeqConfig", "Seq2SeqModelConfig", "Seq2SeqTrainConfig")
# the experiments: each contains the run(s) it varies and adds only its own knobs. Not here:
# LabConfig and Seq2SeqCompareConfig, which hold no training settings; they pick steps or a
# preset and lay their seed and device over every run (`lab_settings`, `preset_config`)
EXPERIMENTS = ("CompareConfig", "SweepConfig", "AgreementConfig", "StructureConfig",
               "RevivalConfig", "Seq2SeqComparePreset")


def test_no_experiment_config_redeclares_a_field_of_the_run_it_contains():
    import dataclasses

    import seqlm.config as c

    family = {f.name for name in FAMILY for f in dataclasses.fields(getattr(c, name))}
    for name in EXPERIMENTS:
        config = getattr(c, name)
        nested = {f.name: f.type for f in dataclasses.fields(config)
                  if dataclasses.is_dataclass(f.type)}
        assert set(nested.values()) & {c.TrainConfig, c.Seq2SeqConfig, c.CompareConfig}, \
            f"{name} contains no training run"
        own = {f.name for f in dataclasses.fields(config)} - set(nested)
        assert not own & family, f"{name} re-declares {sorted(own & family)}"
        for path in getattr(config, "OPTIONS", {}):  # the options it names are real fields
            owner = config()
            *parts, leaf = path.split(".")
            for part in parts:
                owner = getattr(owner, part)
            assert hasattr(owner, leaf), f"{name}.OPTIONS names {path}, not a field"


def test_merge_lays_partial_overrides_over_nested_configs_in_order():
    from seqlm.config import TrainConfig, merge
    from seqlm.errors import ConfigError

    base = TrainConfig()
    got = merge(base, {"engine": {"schedule": {"lr": 0.5}}, "window": 7}, {"window": 9})
    assert (got.engine.schedule.lr, got.window) == (0.5, 9)
    assert got.engine.schedule.warmup_steps == base.engine.schedule.warmup_steps
    assert got.model == base.model and merge(base) == base
    with pytest.raises(ConfigError, match="lrr"):
        merge(base, {"engine": {"schedule": {"lrr": 1.0}}})
    with pytest.raises(ConfigError, match="window"):
        merge(base, {"window": 0})


def test_every_preset_resolves_and_the_registered_budgets_hold():
    """Presets are dicts of overrides (`merge`); the pre-registered seq2seq budgets are
    pinned here, so a change to one is a visible change to a test."""
    from seqlm.config import (
        LAB_AGREEMENT,
        LAB_QUICK_SWEEP,
        QUICK_AGREEMENT,
        QUICK_COMPARE,
        QUICK_REVIVAL,
        QUICK_STRUCTURE,
        QUICK_SWEEP,
        SEQ2SEQ_COMPARE_PRESETS,
        TIMED_COMPARE,
        TIMED_STEP_CAP,
        TRAIN_PRESETS,
        AgreementConfig,
        CompareConfig,
        RevivalConfig,
        StructureConfig,
        SweepConfig,
        compare_preset,
        merge,
        train_preset,
    )

    for corpus in TRAIN_PRESETS:
        assert train_preset(corpus).corpus.name == corpus
    assert train_preset("verbs").model.unit == "word"
    quick = merge(CompareConfig(), QUICK_COMPARE)
    assert (quick.train.engine.max_steps, quick.train.model.hidden_size) == (40, 48)
    assert merge(quick, TIMED_COMPARE).train.engine.max_steps == TIMED_STEP_CAP
    assert merge(AgreementConfig(), QUICK_AGREEMENT).train.engine.max_steps == 30
    assert merge(AgreementConfig(), LAB_AGREEMENT).train.engine.schedule.lr == 1e-2
    assert merge(SweepConfig(), QUICK_SWEEP, LAB_QUICK_SWEEP).budgets == (5, 10)
    assert merge(StructureConfig(), QUICK_STRUCTURE).train.corpus.size == 1500
    revival = merge(RevivalConfig(), *QUICK_REVIVAL)
    assert revival.compare.train.engine.max_minutes == 0.005
    assert revival.compare.cells == ("lstm", "mingru", "minlstm")
    registered = {  # name: (steps, eval_every, pairs per regime, validation, test, held out)
        "full": (1500, 500, 20_000, 600, None, 0), "lab": (350, 350, 20_000, 200, 1000, 0),
        "lab560": (560, 280, 20_000, 200, 1000, 0), "lab560h": (560, 280, 20_000, 200, 1000, 4),
        "stress": (1500, 500, 20_000, 600, None, 0), "quick": (10, 10, 400, 24, 24, 2)}
    assert set(registered) == set(SEQ2SEQ_COMPARE_PRESETS)
    for name, want in registered.items():
        p = compare_preset(name)
        assert (p.base.engine.max_steps, p.base.engine.eval_every, p.base.corpus.size,
                p.base.train.eval_size, p.test_size,
                len(p.base.corpus.hold_out_formats)) == want, name
    assert compare_preset("stress").base.regimes == ("long",)
    assert not compare_preset("stress").base.model.bidirectional
    assert compare_preset("quick").base.model.hidden_size == 32


def test_every_public_name_loads_from_its_home_and_a_family_loads_alone():
    """`seqlm.config` loads names on first use: each name `HOMES` lists is its module's, and
    importing NgramConfig in a fresh process loads no LM, seq2seq or lab config."""
    import importlib
    import subprocess
    import sys
    from pathlib import Path

    import seqlm.config as c

    for module, names in c.HOMES.items():
        home = importlib.import_module(f"seqlm.config.{module}")
        for name in names:
            assert getattr(c, name) is getattr(home, name), name
    assert set(c.__all__) <= set(dir(c))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchConfig'"):
        c.NoSuchConfig  # noqa: B018
    src = str(Path(c.__file__).resolve().parents[2])
    code = ("import sys; from seqlm.config import NgramConfig; "
            "print(*sorted(m for m in sys.modules if m.startswith('seqlm.config.')))")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": src},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["seqlm.config.data", "seqlm.config.fields", "seqlm.config.ngram"]

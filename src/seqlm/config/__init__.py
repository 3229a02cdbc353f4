"""Frozen dataclasses: the only home of seqlm's defaults, split by model family.

Every command resolves its options into one of these, saves it into the run manifest (and
the checkpoint, where there is one) and rebuilds from it on load. A default written anywhere
else is a bug. Every field is checked on construction (`seqlm.config.fields`): a value of
the wrong type or out of range is a `ConfigError` naming the field, whichever way it came in.
`to_dict` / `from_dict` are the round trip used by manifests and checkpoints. An experiment's
config contains the family config of the run it varies (`CompareConfig.train`,
`Seq2SeqComparePreset.base`) and adds only its own knobs; every preset is a dict of partial
overrides laid on by `merge`.

The names are loaded on first use (PEP 562's module `__getattr__`): `from seqlm.config import
NgramConfig` runs `seqlm.config.ngram` (and what it imports), not every family's module, so
a short command such as `seqlm ngram train` does not pay ~25 ms for the LM, seq2seq and lab
configs it never builds. `HOMES` says where each name lives; add a new public name there.
"""

import importlib

# every public name, by the module of seqlm.config that defines it
HOMES = {
    "agreement": ("LAB_AGREEMENT", "QUICK_AGREEMENT", "AgreementConfig"),
    "beyond_kenlm": ("EntropyPruneConfig", "InfiniGramConfig", "MixConfig"),
    "data": ("SPLITS", "UNITS", "BracketsConfig", "CorpusConfig", "DataShowConfig"),
    "engine": ("PRECISIONS", "EngineConfig", "ScheduleConfig"),
    "export": ("EXPORT_FORMATS", "ONNX_CHUNK", "ONNX_EXPORTER", "ONNX_EXPORTERS", "ONNX_THREADS",
               "ONNX_UNROLL", "ExportConfig"),
    "fields": ("Config", "from_dict", "merge", "opt", "to_dict"),
    "lab": ("LabConfig",),
    "lm": ("LENGTH_ALPHA", "LM_CELLS", "QUICK_COMPARE", "QUICK_REVIVAL", "RUNTIMES", "SCANS",
           "TIMED_COMPARE", "TIMED_STEP_CAP", "TRAIN_PRESETS", "CompareConfig", "EvalConfig",
           "LMConfig", "RevivalConfig", "SampleConfig", "TrainConfig", "train_preset"),
    "ngram": ("NgramConfig", "ngram_command"),
    "reference": ("ByHandConfig", "ReferenceModelConfig", "ReferenceTrainConfig",
                  "VanishingConfig"),
    "seq2seq": ("ATTENTIONS", "SAMPLING_SCHEDULES", "SEQ2SEQ_COMPARE_PRESETS",
                "Seq2SeqCompareConfig", "Seq2SeqComparePreset", "Seq2SeqConfig",
                "Seq2SeqDecodeConfig", "Seq2SeqEvalConfig", "Seq2SeqModelConfig",
                "Seq2SeqTrainConfig", "compare_preset", "seq2seq_engine"),
    "serve": ("ServeConfig",),
    "structure": ("QUICK_STRUCTURE", "StructureConfig"),
    "sweep": ("LAB_QUICK_SWEEP", "QUICK_SWEEP", "SweepConfig"),
}
_HOME_OF = {name: module for module, names in HOMES.items() for name in names}
__all__ = list(_HOME_OF)


def __getattr__(name: str):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'seqlm.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"seqlm.config.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Frozen dataclasses: the only home of seqlm's defaults, split by model family.

Every command resolves its options into one of these, saves it into the run manifest (and
the checkpoint, where there is one) and rebuilds from it on load. A default written anywhere
else is a bug. Every field is checked on construction (`seqlm.config.fields`): a value of
the wrong type or out of range is a `ConfigError` naming the field, whichever way it came in.
`to_dict` / `from_dict` are the round trip used by manifests and checkpoints. An experiment's
config contains the family config of the run it varies (`CompareConfig.train`,
`Seq2SeqComparePreset.base`) and adds only its own knobs; every preset is a dict of partial
overrides laid on by `merge`.
"""

from seqlm.config.agreement import LAB_AGREEMENT, QUICK_AGREEMENT, AgreementConfig
from seqlm.config.beyond_kenlm import EntropyPruneConfig, InfiniGramConfig, MixConfig
from seqlm.config.data import SPLITS, UNITS, BracketsConfig, CorpusConfig, DataShowConfig
from seqlm.config.engine import PRECISIONS, EngineConfig, ScheduleConfig
from seqlm.config.export import (
    EXPORT_FORMATS,
    ONNX_CHUNK,
    ONNX_EXPORTER,
    ONNX_EXPORTERS,
    ONNX_THREADS,
    ONNX_UNROLL,
    ExportConfig,
)
from seqlm.config.fields import Config, from_dict, merge, opt, to_dict
from seqlm.config.lab import LabConfig
from seqlm.config.lm import (
    LENGTH_ALPHA,
    LM_CELLS,
    QUICK_COMPARE,
    QUICK_REVIVAL,
    RUNTIMES,
    SCANS,
    TIMED_COMPARE,
    TIMED_STEP_CAP,
    TRAIN_PRESETS,
    CompareConfig,
    EvalConfig,
    LMConfig,
    RevivalConfig,
    SampleConfig,
    TrainConfig,
    train_preset,
)
from seqlm.config.ngram import NgramConfig, ngram_command
from seqlm.config.reference import (
    ByHandConfig,
    ReferenceModelConfig,
    ReferenceTrainConfig,
    VanishingConfig,
)
from seqlm.config.seq2seq import (
    ATTENTIONS,
    SAMPLING_SCHEDULES,
    SEQ2SEQ_COMPARE_PRESETS,
    Seq2SeqCompareConfig,
    Seq2SeqComparePreset,
    Seq2SeqConfig,
    Seq2SeqDecodeConfig,
    Seq2SeqEvalConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    compare_preset,
    seq2seq_engine,
)
from seqlm.config.serve import ServeConfig
from seqlm.config.structure import QUICK_STRUCTURE, StructureConfig
from seqlm.config.sweep import LAB_QUICK_SWEEP, QUICK_SWEEP, SweepConfig

__all__ = [
    "train_preset", "TRAIN_PRESETS", "AgreementConfig", "LAB_AGREEMENT", "QUICK_AGREEMENT",
    "SweepConfig", "QUICK_SWEEP", "LAB_QUICK_SWEEP", "QUICK_COMPARE", "QUICK_REVIVAL",
    "QUICK_STRUCTURE", "TIMED_COMPARE", "LENGTH_ALPHA",
    "ATTENTIONS", "LM_CELLS", "PRECISIONS", "SAMPLING_SCHEDULES", "SCANS",
    "SEQ2SEQ_COMPARE_PRESETS", "TIMED_STEP_CAP", "UNITS", "BracketsConfig", "ByHandConfig",
    "CompareConfig", "Config", "DataShowConfig", "SPLITS", "EXPORT_FORMATS", "ExportConfig",
    "CorpusConfig", "ONNX_CHUNK", "ONNX_EXPORTER", "ONNX_EXPORTERS", "ONNX_THREADS", "ONNX_UNROLL",
    "RUNTIMES",
    "EngineConfig", "EntropyPruneConfig", "EvalConfig", "InfiniGramConfig", "LMConfig",
    "MixConfig",
    "LabConfig", "NgramConfig", "ReferenceModelConfig", "ReferenceTrainConfig", "RevivalConfig",
    "SampleConfig", "ScheduleConfig", "ServeConfig", "Seq2SeqCompareConfig", "Seq2SeqComparePreset",
    "Seq2SeqConfig", "Seq2SeqDecodeConfig", "Seq2SeqEvalConfig", "Seq2SeqModelConfig",
    "Seq2SeqTrainConfig", "StructureConfig", "TrainConfig", "VanishingConfig", "compare_preset",
    "from_dict", "merge", "opt", "ngram_command", "seq2seq_engine", "to_dict",
]

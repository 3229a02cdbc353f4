"""`seqlm train`, `seqlm eval`, `seqlm sample` and `seqlm compare`: recurrent language models.

Options default to None here and override, in order, `TrainConfig`'s defaults, a `--config`
JSON file, or (with `--resume`) the checkpoint's config; with `--resume` an option that would
change the checkpoint's config is an error (the budgets, threads, device and precision may
change, and a moved `file:` corpus may be named again).
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

from seqlm.cli.bars import Bars
from seqlm.cli.compare_modes import add_mode_args, mode_command
from seqlm.cli.config_args import (
    add_config_options,
    add_options,
    apply_options,
    check_unchanged,
    config_of,
    given,
    link_option,
    use_config,
)
from seqlm.cli.options import (
    add_corpus_args,
    add_output_args,
    add_run_args,
    add_tensorboard_arg,
    emit,
)
from seqlm.config import (
    CompareConfig,
    EvalConfig,
    SampleConfig,
    TrainConfig,
    from_dict,
    to_dict,
    train_preset,
)
from seqlm.errors import SeqlmError

CORPUS_OPTIONS = ("name", "size", "valid_fraction", "test_fraction", "data_dir", "path",
                  "encoding_errors", "plural", "include")
# `seqlm compare`'s options, in this order: fields of CompareConfig and of its run `train`
COMPARE = ("train.corpus.name", "train.corpus.data_dir", "train.seed", "cells",
           "train.engine.max_steps", "train.engine.max_minutes", "train.engine.threads",
           "train.engine.device")


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a recurrent language model (TBPTT)")
    add_train_args(train)
    train.add_argument("--resume", default=None, metavar="RUN",
                       help="go on from a run directory (or its last.pt): in place, or into "
                            "--out if given")
    add_tensorboard_arg(train)
    add_run_args(train)
    add_output_args(train)
    train.set_defaults(func=train_command)

    ev = sub.add_parser("eval", help="loss, perplexity, bits per char/byte of a trained LM")
    ev.add_argument("checkpoint", help="checkpoint file or run directory (uses best.pt)")
    add_config_options(ev, EvalConfig(), skip=("checkpoint",))
    add_run_args(ev)
    add_output_args(ev)
    use_config(ev, EvalConfig())
    ev.set_defaults(func=eval_command)

    sample = sub.add_parser("sample", help="generate text from a trained LM")
    add_sample_args(sample)
    add_output_args(sample)
    use_config(sample, SampleConfig())
    sample.set_defaults(func=sample_command)

    compare = sub.add_parser("compare", help="RNN vs LSTM vs GRU (vs minGRU, minLSTM) at "
                             "equal parameters and steps, or equal time")
    compare.add_argument("--quick", action="store_true", help="a budget of seconds")
    add_options(compare, CompareConfig(), COMPARE)
    link_option(compare, "train", "seed", "train.corpus.seed")
    link_option(compare, "train.corpus", "name", "fallback")  # a corpus named: no fallback
    use_config(compare, CompareConfig())
    add_tensorboard_arg(compare)
    add_mode_args(compare)
    add_run_args(compare)
    add_output_args(compare)
    compare.set_defaults(func=compare_command)


def add_train_args(p: argparse.ArgumentParser) -> None:
    """Every option of a TrainConfig, derived from the config (`seqlm.cli.config_args`)."""
    p.add_argument("--config", default=None, help="a JSON TrainConfig (see configs/)")
    base = TrainConfig()
    use_config(p, base)  # the help's defaults; a run starts from train_preset or --config
    add_corpus_args(p, base.corpus, names=CORPUS_OPTIONS)
    add_config_options(p.add_argument_group("model (LMConfig)"), base.model, "model")
    add_config_options(p.add_argument_group("windows and evaluation (TrainConfig)"), base)
    add_config_options(p.add_argument_group("training loop (EngineConfig)"), base.engine,
                       "engine")
    add_config_options(p.add_argument_group("learning rate (ScheduleConfig)"),
                       base.engine.schedule, "engine.schedule")


def apply_overrides(base: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    """`base` with every option given on the command line replaced (`--seed` seeds a
    generated corpus too, unless that has its own)."""
    config = apply_options(base, args)
    if getattr(args, "seed", None) is not None:
        config = replace(config, corpus=replace(config.corpus, seed=args.seed))
    return config


def check_resume_overrides(ckpt_config: TrainConfig, args: argparse.Namespace) -> None:
    moved = args.corpus__name  # --corpus, derived from CorpusConfig.name
    if moved is not None and not (moved.startswith("file:")
                                  and ckpt_config.corpus.name.startswith("file:")):
        raise SeqlmError(f"--corpus {moved} differs from the checkpoint's "
                         f"{ckpt_config.corpus.name}: only a moved file: corpus may be named "
                         "again on resume; drop --corpus, or start a new run")
    from seqlm.runs.training_run import MAY_CHANGE_ON_RESUME

    check_unchanged(ckpt_config, args, MAY_CHANGE_ON_RESUME["lm"])


def load_config_file(path: str) -> TrainConfig:
    from seqlm.data.corpora.text import regular_file

    fix = "give the path of a JSON TrainConfig (see configs/)"
    raw = regular_file(Path(path), "config file", fix, max_bytes=2**20).read_bytes()
    if raw.startswith(b"PK\x03\x04"):  # a zip: what torch.save writes
        raise SeqlmError(f"{path} is a checkpoint, not a config file: to go on training from "
                         f"its run pass --resume {Path(path).parent}; to start anew, {fix}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SeqlmError(f"config file {path} is not valid JSON: {e}") from None
    if isinstance(data, dict):
        data.pop("_comment", None)
    return from_dict(TrainConfig, data, source=path)


def train_command(args: argparse.Namespace) -> int:
    from seqlm.cli.training import train_from_cli
    from seqlm.runs.lm import run_train
    from seqlm.runs.training_run import resume_from

    resumed = resume_from(args.resume, "lm") if args.resume else None
    if resumed is not None:
        base = from_dict(TrainConfig, resumed.payload["config"], source=args.resume)
        check_resume_overrides(base, args)
    else:
        base = load_config_file(args.config) if args.config else \
            train_preset(args.corpus__name or TrainConfig().corpus.name)
    config = apply_overrides(base, args)
    run, code = train_from_cli(args, run_train, config, resumed)
    if run.writes:  # under torchrun rank 0 alone prints
        emit(args, {"run": str(run.path), "config": to_dict(config), **run.metrics},
             train_summary(run))
    return code


def train_summary(run) -> str:
    """What was measured, and when: the steps done, the last validation score and its step."""
    m = run.metrics
    lines = [f"{m['status']} after {m['steps']} steps ({m['tokens_per_second']:.0f} tokens/s "
             f"of training, {m['parameters']:,} parameters)"]
    valid = m.get("best_valid_full") or m.get("final_valid") or {}
    if valid:
        which = "best weights" if "best_valid_full" in m else "last evaluation"
        lines.append(f"valid ({which}, step {valid['step']}): loss {valid['loss_nats']:.4f} nats,"
                     f" perplexity {valid['perplexity']:.3f}, "
                     f"{valid['bits_per_char']:.4f} bits/char over {valid['tokens']:,} tokens")
    elif run.config.corpus.valid_fraction == 0:
        lines.append("no validation split (--valid-fraction 0): nothing was scored")
    else:
        lines.append("no validation score yet: the run stopped before its first evaluation")
    lines.append(f"run directory {run.path}")
    return "\n".join(lines)


def eval_command(args: argparse.Namespace) -> int:
    from seqlm.runs.lm import run_eval

    config = replace(config_of(args), checkpoint=args.checkpoint)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, m = run_eval(config, out=args.out, overwrite=args.overwrite, progress=bars,
                          device=config.device)
    finally:
        bars.close()
    if run.status == "interrupted":
        emit(args, {"run": str(run.path), **m}, f"interrupted; run directory {run.path}")
        return 130
    text = (f"{m['source']}: loss {m['loss_nats']:.4f} nats/token, perplexity "
            f"{m['perplexity']:.3f}, {m['bits_per_char']:.4f} bits/char, "
            f"{m['bits_per_byte']:.4f} bits/byte over {m['tokens']:,} tokens")
    if m["unknown_tokens"]:
        text += (f"\n{m['unknown_tokens']:,} tokens ({100 * m['unknown_share']:.2f}%) were "
                 "outside the model's vocabulary and scored as <unk>")
    emit(args, {"run": str(run.path), **m}, text)
    return 0


def add_sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint file or run directory (uses best.pt)")
    p.add_argument("--prime-file", default=None, help="read the prime from this file")
    add_config_options(p, SampleConfig(), skip=("checkpoint",),
                       flags={"temperatures": "--temperature"})


def sample_command(args: argparse.Namespace) -> int:
    from seqlm.checkpoint import load
    from seqlm.decoding.lm_text import decode_samples, join_prime
    from seqlm.training.devices import resolve_device

    config = replace(config_of(args), checkpoint=args.checkpoint)
    prime = config.prime
    if args.prime_file:
        try:
            prime = Path(args.prime_file).read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError) as e:
            raise SeqlmError(f"cannot read prime file {args.prime_file}: {e}") from None
    config = replace(config, prime=prime)
    if config.runtime == "onnx":
        from seqlm.export.onnx_runtime import load_onnx

        loaded = load_onnx(args.checkpoint, kind="lm")
    else:
        loaded = load(args.checkpoint, resolve_device(config.device), kind="lm")
    samples = decode_samples(loaded.model, loaded.vocab, loaded.config.model.unit, config)
    blocks = []
    for s in samples:
        head = f"beam rank {s['rank']}" if s["method"] == "beam" else \
            f"temperature {s['temperature']}, sample {s['sample']}"
        text = join_prime(prime, s["text"], loaded.config.model.unit)
        blocks.append(f"--- {head} ---\n{text}")
    emit(args, {"config": to_dict(config), "samples": samples}, "\n".join(blocks))
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from seqlm.config import QUICK_COMPARE, TIMED_COMPARE, merge

    code = mode_command(args)  # --agreement or --sweep
    if code is not None:
        return code
    config = config_of(args, merge(CompareConfig(), QUICK_COMPARE) if args.quick else None)
    engine = given(args).get("train.engine", {})
    if config.train.engine.max_minutes is not None and "max_steps" not in engine:
        config = merge(config, TIMED_COMPARE)  # time alone decides
    from seqlm.lab.compare import run_compare  # torch: after the options are checked

    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, section = run_compare(config, out=args.out, overwrite=args.overwrite, progress=bars,
                                   tensorboard=args.tensorboard)
    finally:
        bars.close()
    emit(args, {"run": str(run.path), **section.metrics},
         f"{section.markdown}\n\nrun directory {run.path}")
    return 0

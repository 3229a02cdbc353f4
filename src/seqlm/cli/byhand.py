"""`seqlm by-hand`: train a small NumPy RNN / GRU / LSTM on conjugation chains for a fixed
number of updates (or load one), then walk a prompt token by token. The same command prints
the same thing on every machine (the time it took is in the manifest)."""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.config_args import add_config_options, config_of, link_option, use_config
from seqlm.cli.options import add_corpus_args, add_output_args, add_run_args, emit
from seqlm.config import ByHandConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("by-hand", help="NumPy RNN/GRU/LSTM with hand-written BPTT, read token "
                                       "by token: state, gates, next-token guesses")
    base = ByHandConfig()
    add_config_options(p, base, names=("prompt", "load", "sentences", "top_k", "sample_tokens",
                                       "temperature"), flags={"sample_tokens": "--sample"})
    add_config_options(p.add_argument_group("model (ReferenceModelConfig)"), base.model, "model",
                       names=("cell", "hidden_size", "embedding_dim", "num_layers"))
    add_config_options(p.add_argument_group("training (ReferenceTrainConfig)"), base.train,
                       "train", names=("steps", "seconds", "batch_size", "window", "optimizer",
                                       "lr"))
    add_corpus_args(p, base.corpus)
    link_option(p, "corpus", "seed", "model.seed", "train.seed")
    add_run_args(p)
    add_output_args(p)
    use_config(p, base)
    p.set_defaults(func=by_hand_command)


def config_from(args: argparse.Namespace) -> ByHandConfig:
    """The options laid over ByHandConfig; `--seconds` alone replaces the step budget."""
    config = config_of(args)
    if args.train__seconds is not None and args.train__steps is None:
        config = replace(config, train=replace(config.train, steps=None))
    return replace(config, out=args.out, overwrite=args.overwrite)


def by_hand_command(args: argparse.Namespace) -> int:
    from seqlm.lab.byhand import run_by_hand, text_table

    config = config_from(args)
    bars = Bars(enabled=not (args.json or args.quiet))
    try:
        run, result = run_by_hand(config, argv=["seqlm", *sys.argv[1:]], progress=bars)
    finally:
        bars.close()
    t = result.training
    trained = (f"loaded {config.load}" if config.load else
               f"trained a {config.model.cell.upper()} ({t['num_params']:,} parameters, "
               f"{t['vocab_size']} words) for {t['steps']} updates, final training loss "
               f"{t['final_loss_nats']:.3f} nats")  # no seconds: the same output everywhere
    text = "\n".join([trained, "", text_table(result.steps, config.digits), "",
                      f"next after {result.steps[-1].token!r}: {run.metrics['next_token']!r}",
                      *([f"sample (temperature {config.temperature:g}): {config.prompt} "
                         f"{run.metrics['sample']}"] if result.sample else []),
                      f"run directory: {run.path}"])
    emit(args, {"run_dir": str(run.path), **run.metrics}, text)
    return 0

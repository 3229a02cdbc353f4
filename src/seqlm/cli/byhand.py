"""`seqlm by-hand`: train a small NumPy RNN / GRU / LSTM on conjugation chains for a fixed
number of updates (or load one), then walk a prompt token by token. The same command prints
the same thing on every machine (the time it took is in the manifest)."""

import argparse
import sys
from dataclasses import replace

from seqlm.cli.bars import Bars
from seqlm.cli.options import (
    CORPUS_FIELDS,
    add_corpus_args,
    add_output_args,
    add_run_args,
    corpus_config,
    emit,
)
from seqlm.config import ByHandConfig

DEFAULTS = ByHandConfig()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("by-hand", help="NumPy RNN/GRU/LSTM with hand-written BPTT, read token "
                                       "by token: state, gates, next-token guesses")
    p.add_argument("--cell", choices=["rnn", "gru", "lstm"], default=DEFAULTS.model.cell)
    p.add_argument("--prompt", default=DEFAULTS.prompt, help="space-separated words to walk")
    p.add_argument("--load", default=None, metavar="FILE",
                   help="model.npz of an earlier by-hand run: skip training")
    p.add_argument("--steps", type=int, default=DEFAULTS.train.steps,
                   help="training updates (default %(default)s; the same model on every "
                        "machine)")
    p.add_argument("--seconds", type=float, default=None,
                   help="a time budget instead of --steps (faster machines train further)")
    p.add_argument("--sentences", choices=["chains", "all"], default=DEFAULTS.sentences,
                   help="train on the conjugation chains only (default) or on every sentence")
    m = p.add_argument_group("model and training")
    m.add_argument("--hidden-size", type=int, default=DEFAULTS.model.hidden_size)
    m.add_argument("--embedding-dim", type=int, default=DEFAULTS.model.embedding_dim)
    m.add_argument("--num-layers", type=int, default=DEFAULTS.model.num_layers)
    m.add_argument("--batch-size", type=int, default=DEFAULTS.train.batch_size)
    m.add_argument("--window", type=int, default=DEFAULTS.train.window, help="TBPTT length")
    m.add_argument("--optimizer", choices=["sgd", "adagrad", "adam"],
                   default=DEFAULTS.train.optimizer)
    m.add_argument("--lr", type=float, default=DEFAULTS.train.lr)
    m.add_argument("--top-k", type=int, default=DEFAULTS.top_k)
    m.add_argument("--sample", type=int, default=DEFAULTS.sample_tokens, metavar="N",
                   help="also draw N tokens after the prompt")
    m.add_argument("--temperature", type=float, default=DEFAULTS.temperature,
                   help="of the sample: below 1 sharper, above 1 flatter")
    add_corpus_args(p)
    add_run_args(p)
    add_output_args(p)
    p.set_defaults(func=by_hand_command, _fields={
        **CORPUS_FIELDS,
        "sample_tokens": "sample"})


def config_from(args: argparse.Namespace) -> ByHandConfig:
    model = replace(DEFAULTS.model, cell=args.cell, hidden_size=args.hidden_size,
                    embedding_dim=args.embedding_dim, num_layers=args.num_layers, seed=args.seed)
    train = replace(DEFAULTS.train, batch_size=args.batch_size, window=args.window,
                    optimizer=args.optimizer, lr=args.lr, seed=args.seed,
                    steps=None if args.seconds is not None else args.steps,
                    seconds=args.seconds)
    return replace(DEFAULTS, prompt=args.prompt, sentences=args.sentences, load=args.load,
                   top_k=args.top_k, sample_tokens=args.sample, temperature=args.temperature,
                   corpus=corpus_config(args), model=model, train=train,
                   out=args.out, overwrite=args.overwrite)


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

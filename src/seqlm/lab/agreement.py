"""`seqlm compare --agreement`: long-range subject-verb agreement by distance, RNN vs LSTM
vs GRU at equal parameters, data, seed and steps.

Each cell trains a word-level LM on the `verbs` mix (plural subjects half the time) whose
agreement sentences put 1 to `max_distance` tokens between the subject's head noun and its
verb (the corpus's default stops at 12; `verbs.generate(max_distance=...)` draws further, the
corpus itself is unchanged), with `agreement_share` of the sentences replaced by extra
agreement sentences at distances spread evenly. Then, on fresh agreement items (their own
seed; distances uniform within each bucket, attractor nouns of the other number half the
time), per distance bucket: the accuracy of the verb form, P(correct form) > P(the other
number's form) after the prefix (Linzen, Dupoux & Goldberg 2016, TACL 4), with its 95%
Wilson interval, and the verb token's perplexity, exp of the mean -log P(correct form).
Items whose forms are not both in
the training vocabulary are left out and counted. The gap at distance > 20 (the buckets
beyond 20 pooled) between each gated cell and the RNN closes the section.
Leaves out: several seeds, per-cell tuning, attractor-count breakdowns.
"""

import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqlm.config import LAB_AGREEMENT, QUICK_AGREEMENT, AgreementConfig, LMConfig, merge
from seqlm.data.corpora.verbs import AgreementExample, agreement_examples, generate
from seqlm.data.lm_data import build_vocab, encode_text
from seqlm.data.vocab import EOS, EOS_ID, Vocab
from seqlm.lab.compare import CELL_TITLES, cell_model, changed_options
from seqlm.lab.steps import LabContext, LabSection, lab_settings, run_section
from seqlm.metrics import wilson_interval
from seqlm.nn.build import build_model
from seqlm.progress import ProgressCallback
from seqlm.runs.run import Run
from seqlm.training.devices import Placement
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask
from seqlm.training.threads import torch_threads

TEST_SEED_OFFSET = 1_000_003  # test items never share the training text's random stream
TRAIN_SEED_OFFSET = 2_000_003  # nor the extra training agreement sentences


def bucket_ranges(config: AgreementConfig) -> list[tuple[int, int]]:
    """(5, 20, 50, 70) -> [(1, 5), (6, 20), (21, 50), (51, 70)]."""
    lows = [1, *[edge + 1 for edge in config.buckets[:-1]]]
    return list(zip(lows, config.buckets, strict=True))


def agreement_items(config: AgreementConfig, low: int, high: int) -> list[AgreementExample]:
    """`config.examples` items with distances spread evenly over low..high."""
    width = high - low + 1
    counts = [config.examples // width + (i < config.examples % width) for i in range(width)]
    seed = config.train.seed + TEST_SEED_OFFSET
    return [item for d, n in zip(range(low, high + 1), counts, strict=True) if n
            for item in agreement_examples(seed + d, n, d)]


def score_items(model, vocab: Vocab, items: list[AgreementExample]) -> dict:
    """Accuracy (with its interval) and verb perplexity of `model` on `items`: one batch,
    each row `</s> prefix` right-padded (an RNN's earlier outputs do not see the padding),
    the logits read at each row's last prefix token."""
    kept = [x for x in items if x.correct in vocab and x.wrong in vocab]
    if not kept:
        return {"items": 0, "left_out": len(items)}
    rows = [vocab.encode([EOS, *x.prefix]) for x in kept]
    length = max(len(r) for r in rows)
    idx = torch.full((len(rows), length), EOS_ID, dtype=torch.long)
    for i, r in enumerate(rows):
        idx[i, :len(r)] = torch.from_numpy(r)
    ends = torch.tensor([len(r) - 1 for r in rows])
    correct = torch.tensor([vocab.stoi[x.correct] for x in kept])
    wrong = torch.tensor([vocab.stoi[x.wrong] for x in kept])
    with torch.inference_mode():
        logits, _, _ = model(idx.to(next(model.parameters()).device))
        logp = F.log_softmax(logits.float().cpu()[torch.arange(len(rows)), ends], dim=-1)
    right = logp.gather(1, correct[:, None])[:, 0]
    hits = int((right > logp.gather(1, wrong[:, None])[:, 0]).sum())
    low, high = wilson_interval(hits, len(kept))
    return {"items": len(kept), "left_out": len(items) - len(kept),
            "accuracy": hits / len(kept), "interval": [low, high],
            "verb_perplexity": float(np.exp(-right.mean().item()))}


def train_cell(config: AgreementConfig, model: LMConfig, vocab: Vocab, text: str,
               out_dir: Path, progress: ProgressCallback | None) -> tuple[torch.nn.Module, dict]:
    """One word LM (`model`, one cell) on `text`, the run `config.train` with its seed on the
    corpus too, and one evaluation at the end: the budget the same for every cell."""
    train, cell = config.train, model.cell
    steps = train.engine.max_steps
    tc = replace(train, corpus=replace(train.corpus, seed=train.seed), model=model,
                 engine=replace(train.engine, eval_every=steps, log_every=max(1, steps // 50)))
    placement = Placement.resolve(tc.engine.device)
    task = LMTask(tc, vocab, encode_text(text, model.unit, vocab), None, placement.device)
    torch.manual_seed(tc.seed)
    engine = Engine(task, build_model("lm", tc, vocab), tc.engine, out_dir / cell, placement)
    wrapped = None if progress is None else (lambda e: progress(replace(e, task=f"train {cell}")))
    result = engine.run(wrapped)
    return engine.model.eval(), {"parameters": result.parameters, "steps": result.position.step,
                                 "train_seconds": round(result.position.seconds, 2),
                                 "final_train_loss": result.history[-1]["loss"]
                                 if result.history else None}


def training_lines(config: AgreementConfig) -> list[str]:
    """The verbs mix (agreement distances 1 to `max_distance`), and where `agreement_share`
    asks for it, that share of extra agreement sentences, distances spread evenly; shuffled
    with the seed."""
    extra, seed = round(config.sentences * config.agreement_share), config.train.seed
    lines = generate(seed, config.sentences - extra, plural=True,
                     max_distance=config.max_distance)
    per = [extra // config.max_distance + (i < extra % config.max_distance)
           for i in range(config.max_distance)]
    lines += [" ".join(x.tokens) for d, n in enumerate(per, 1) if n
              for x in agreement_examples(seed + TRAIN_SEED_OFFSET + d, n, d)]
    random.Random(seed).shuffle(lines)
    return lines


def measure(config: AgreementConfig, out_dir: Path,
            progress: ProgressCallback | None = None) -> dict:
    """Train every cell, score every bucket: {cell: {hidden, parameters, ..., buckets}}."""
    lines = training_lines(config)
    text = "".join(line + "\n" for line in lines)
    vocab = build_vocab(text, config.train.model)
    items = {f"{lo}-{hi}": agreement_items(config, lo, hi) for lo, hi in bucket_ranges(config)}
    results = {}
    for cell in config.cells:
        lm = cell_model(config.train.model, cell, len(vocab))
        started = time.perf_counter()
        model, trained = train_cell(config, lm, vocab, text, out_dir, progress)
        with torch_threads(config.train.engine.threads):
            buckets = {name: score_items(model, vocab, its) for name, its in items.items()}
        results[cell] = {"hidden": lm.hidden_size, **trained, "buckets": buckets,
                         "seconds": round(time.perf_counter() - started, 2)}
    return {"vocab_size": len(vocab), "train_tokens": len(text.split()) + len(lines),
            "cells": results, "beyond_20": beyond(config, results)}


def beyond(config: AgreementConfig, results: dict, edge: int = 20) -> dict:
    """Each cell's accuracy over the buckets past `edge` pooled, and each gated cell's gap
    to the RNN in points (None where a cell or the RNN is missing)."""
    far = [f"{lo}-{hi}" for lo, hi in bucket_ranges(config) if lo > edge]
    pooled = {}
    for cell, r in results.items():
        n = sum(r["buckets"][b]["items"] for b in far)
        hits = sum(round(r["buckets"][b].get("accuracy", 0) * r["buckets"][b]["items"])
                   for b in far)
        pooled[cell] = {"items": n, "accuracy": hits / n if n else None,
                        "interval": list(wilson_interval(hits, n)) if n else None}
    base = pooled.get("rnn", {}).get("accuracy")
    gaps = {cell: None if base is None or p["accuracy"] is None
            else round(100 * (p["accuracy"] - base), 1)
            for cell, p in pooled.items() if cell != "rnn"}
    return {"buckets": far, "pooled": pooled, "gap_points_vs_rnn": gaps}


def command(config: AgreementConfig) -> str:
    """The command line that reproduces `config`'s numbers."""
    return " ".join(["seqlm compare --agreement", *changed_options(config, AgreementConfig(), (
        "train.engine.max_steps", "train.engine.schedule.lr", "train.batch_size",
        "train.window", "sentences", "agreement_share", "examples", "train.model.hidden_size",
        "train.model.embedding_dim", "train.seed"))])


def render(config: AgreementConfig, measured: dict) -> str:
    names = [f"{lo}-{hi}" for lo, hi in bucket_ranges(config)]
    cells = measured["cells"]
    tc = config.train
    lines = [f"Word LMs, {tc.model.num_layers} layer(s), embedding {tc.model.embedding_dim}, "
             f"LSTM hidden {tc.model.hidden_size} (the others matched in parameters), "
             f"{tc.engine.max_steps} steps of {tc.batch_size}x{tc.window} words, Adam lr "
             f"{tc.engine.schedule.lr}, seed {tc.seed}; trained on {config.sentences:,} "
             "sentences of "
             f"the verbs mix with agreement distances 1-{config.max_distance}"
             + (f" ({config.agreement_share:.0%} of them extra agreement sentences)"
                if config.agreement_share else "") + ", "
             f"{measured['vocab_size']} words; scored on {config.examples} fresh items per "
             f"bucket. Reproduce: `{command(config)}`.", "",
             "Accuracy of the verb form (95% interval) by tokens between subject and verb:", "",
             "| cell | parameters | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for cell, r in cells.items():
        row = [accuracy_cell(r["buckets"][n]) for n in names]
        lines.append(f"| {CELL_TITLES.get(cell, cell)} | {r['parameters']:,} | "
                     + " | ".join(row) + " |")
    lines += ["", "Perplexity of the verb token (lower is better):", "",
              "| cell | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for cell, r in cells.items():
        row = [f"{r['buckets'][n]['verb_perplexity']:.2f}" if r["buckets"][n]["items"]
               else "-" for n in names]
        lines.append(f"| {CELL_TITLES.get(cell, cell)} | " + " | ".join(row) + " |")
    lines += ["", *statement(measured["beyond_20"])]
    return "\n".join(lines)


def accuracy_cell(b: dict) -> str:
    if not b["items"]:
        return "-"
    low, high = b["interval"]
    return f"{100 * b['accuracy']:.1f}% ({100 * low:.0f}-{100 * high:.0f})"


def statement(far: dict) -> list[str]:
    """The gap beyond distance 20, stated from the numbers (target: >= 15 points)."""
    out = []
    for cell, gap in far["gap_points_vs_rnn"].items():
        if gap is None:
            continue
        verdict = "meets" if gap >= 15 else "misses"
        out.append(f"- At distance > 20 ({', '.join(far['buckets'])} pooled) "
                   f"{CELL_TITLES.get(cell, cell)} is {abs(gap):.1f} points "
                   f"{'above' if gap >= 0 else 'below'} the RNN "
                   f"({100 * far['pooled'][cell]['accuracy']:.1f}% vs "
                   f"{100 * far['pooled']['rnn']['accuracy']:.1f}%): it {verdict} the target "
                   "of 15 points at this budget.")
    return out


def agreement(config: AgreementConfig, run: Run, progress: ProgressCallback | None = None,
              folder: str = "agreement") -> LabSection:
    measured = measure(config, run.path / folder, progress)
    return LabSection("Long-range agreement: RNN vs LSTM vs GRU by distance",
                      render(config, measured), metrics=measured)


def lab_step(ctx: LabContext) -> LabSection:
    """The full lab's budget (LAB_AGREEMENT: about 40 s for the three cells on 2 cores,
    docs/nnlm.md) or the quick one."""
    config = merge(AgreementConfig(), lab_settings(ctx),
                   QUICK_AGREEMENT if ctx.config.quick else LAB_AGREEMENT)
    return agreement(config, ctx.run, ctx.progress)


def run_agreement(config: AgreementConfig, out=None, overwrite: bool = False, argv=None,
                  progress: ProgressCallback | None = None) -> tuple[Run, LabSection]:
    """`seqlm compare --agreement` into its own run directory (report.md, report.html)."""
    return run_section("agreement", config, agreement, out, overwrite, argv, progress)


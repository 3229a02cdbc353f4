"""CPU seconds per training step and per test pass of the seq2seq compare models, to size a
step budget (docs/seq2seq.md, "Sizing the lab preset").

For each model of a compare preset (default `lab`: GRU, embedding 32, hidden 64 per direction,
batch 64, plain + long dates joined): the mean CPU time (`time.process_time`, one torch
thread) of one optimiser step over `--steps` consecutive steps of the real batch sequence
(after two warm-up steps), and of greedy decoding of 200 test pairs per regime. CPU time of a
single-threaded process is what wall-clock time would be on an idle core, and it moves far
less than wall time when other processes share the machine; the ratio against the
no-attention model is printed too. Also times the generation of the two dates regimes.

    python benchmarks/bench_seq2seq_steps.py             # about 2 minutes on 2 cores
    python benchmarks/bench_seq2seq_steps.py --steps 6   # a smoke run
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from seqlm.config import SEQ2SEQ_COMPARE_PRESETS, compare_preset  # noqa: E402
from seqlm.data.pairs import PairVocabs  # noqa: E402
from seqlm.decoding.seq2seq import translate  # noqa: E402
from seqlm.lab.seq2seq_compare import preset_config  # noqa: E402
from seqlm.nn.seq2seq import Seq2Seq  # noqa: E402
from seqlm.runs.seq2seq import load_pairs  # noqa: E402
from seqlm.training.seq2seq import Seq2SeqTask  # noqa: E402


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def time_model(attention: str, preset, data, steps: int) -> tuple[float, float]:
    """(mean CPU s per training step, CPU s to decode the test sample greedily); the mean,
    not the median: batches are length-bucketed, short and long ones alternate, and a budget
    pays for all of them."""
    config = preset_config(preset, attention, seed=0)
    vocabs = PairVocabs.build(data.train)
    torch.manual_seed(0)
    model = Seq2Seq(config.model, len(vocabs.source), len(vocabs.target))
    task = Seq2SeqTask(config, vocabs, data.train, [], torch.device("cpu"))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.engine.schedule.lr)

    def train_step(step: int) -> None:  # the engine's update without its bookkeeping
        micros = task.batches(step)
        tokens = sum(m.count for m in micros)
        optimizer.zero_grad(set_to_none=True)
        for micro in micros:
            (task.loss_sum(model, micro, step) / tokens).backward()
        optimizer.step()

    model.train()
    times = [cpu(lambda i=i: train_step(i)) for i in range(steps + 2)][2:]
    sample = [s for pairs in data.test.values() for s, _ in pairs[:200]]
    model.eval()
    return statistics.fmean(times), cpu(lambda: translate(model, vocabs, sample))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="lab", choices=list(SEQ2SEQ_COMPARE_PRESETS))
    parser.add_argument("--steps", type=int, default=60, help="timed steps per model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    preset = compare_preset(args.preset)
    holder = {}
    gen = cpu(lambda: holder.update(data=load_pairs(preset_config(preset, "none", 0),
                                                    preset.test_size)))
    data = holder["data"]
    print(f"preset {args.preset}: generating {preset.base.corpus.size:,} pairs x "
          f"{len(preset.base.regimes)} "
          f"regime(s): {gen:.1f} CPU s")
    print("| model | CPU ms / step | steps / CPU s | x no attention | decode 400 test CPU s |")
    print("|---|---|---|---|---|")
    reference = None
    for attention in preset.models:
        step, decode = time_model(attention, preset, data, args.steps)
        reference = reference or step
        print(f"| {attention} | {1000 * step:.0f} | {1 / step:.2f} | {step / reference:.2f} "
              f"| {decode:.1f} |", flush=True)


if __name__ == "__main__":
    main()

"""NumPy reference training speed: batched, vectorised BPTT against a batch-1 loop in the
style of min-char-rnn, measured in the same run on the same text; prints the ratio.

    batched   B streams x T steps per update; input projections, weight gradients and the
              softmax head computed for all B*T positions in single matrix products
              (`seqlm.reference.tbptt`, the code the library trains with)
    batch-1   one stream, one step at a time: cell step forward, softmax, then per-step
              backward accumulating every weight gradient (min-char-rnn's loop, here over
              the same `Cell.forward/backward` so both compute the same model)

Model: 1 layer, 128 units, 1-char embedding of 32, char-level Tiny Shakespeare (found via
$SEQLM_DATA_DIR; a seeded generated text stands in if it is absent), Adagrad, in float32
(the dtype to train with) and float64 (the dtype of the gradient checks), both sides alike.
BLAS runs single-threaded unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise, so
the ratio measures batching and vectorisation, not cores. Medians of `--repeats` runs.

    python benchmarks/bench_numpy_rnn.py [--cells rnn lstm] [--batch 64] [--repeats 3]
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from seqlm.config import CorpusConfig, ReferenceModelConfig, ReferenceTrainConfig  # noqa: E402
from seqlm.data.corpora import load_corpus  # noqa: E402
from seqlm.data.vocab import Vocab  # noqa: E402
from seqlm.errors import SeqlmError  # noqa: E402
from seqlm.reference.clipping import clip_value  # noqa: E402
from seqlm.reference.lm import ReferenceLM  # noqa: E402
from seqlm.reference.optim import Adagrad  # noqa: E402
from seqlm.reference.primitives import softmax  # noqa: E402
from seqlm.reference.tbptt import train  # noqa: E402

HIDDEN, EMBED, WINDOW = 128, 32, 25


def load_text(chars: int = 200_000) -> tuple[str, str]:
    try:
        text = load_corpus(CorpusConfig(name="tinyshakespeare")).text("train")
        return text[:chars], "Tiny Shakespeare (first 200k train chars)"
    except SeqlmError:
        rng = np.random.default_rng(0)
        words = ["the", "king", "shall", "not", "speak", "of", "my", "lord", "and", "thou"]
        text = " ".join(rng.choice(words, size=chars // 4))
        return text[:chars], "generated text (Tiny Shakespeare not found)"


def model_for(cell: str, vocab_size: int, dtype: str) -> ReferenceLM:
    return ReferenceLM(ReferenceModelConfig(cell=cell, vocab_size=vocab_size, embedding_dim=EMBED,
                                            hidden_size=HIDDEN, dtype=dtype, seed=0))


def batched_tokens_per_second(cell: str, dtype: str, ids: np.ndarray, vocab: int, batch: int,
                              steps: int) -> float:
    model = model_for(cell, vocab, dtype)
    config = ReferenceTrainConfig(batch_size=batch, window=WINDOW, optimizer="adagrad", lr=0.1,
                                  clip_norm=None, clip_value=5.0, steps=steps)
    result = train(model, ids, config)
    return result.tokens / result.seconds


def batch1_update(model: ReferenceLM, opt: Adagrad, x: np.ndarray, y: np.ndarray, state):
    """One min-char-rnn update on one stream of T chars: step forward, then step backward."""
    cell, params = model.cells[0], model.params()
    steps = []
    for t in range(len(x)):
        state, cache = cell.forward(model.embedding[x[t]][None, :], state)  # (1, H)
        probs = softmax(state[0] @ model.head_weight.T + model.head_bias)  # (1, V)
        steps.append((cache, probs, state[0]))
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    dstate = cell.zero_state(1)
    for t in reversed(range(len(x))):
        cache, probs, h = steps[t]
        dlogits = probs.copy()
        dlogits[0, y[t]] -= 1.0
        grads["head.weight"] += dlogits.T @ h
        grads["head.bias"] += dlogits[0]
        dstate = (dstate[0] + dlogits @ model.head_weight, *dstate[1:])
        dx, dstate, g = cell.backward(dstate, cache)
        for name, value in g.items():
            grads[f"layers.0.{name}"] += value
        grads["embedding.weight"][x[t]] += dx[0]
    clip_value(grads, 5.0)
    opt.step(params, grads)
    return state


def batch1_tokens_per_second(cell: str, dtype: str, ids: np.ndarray, vocab: int,
                             steps: int) -> float:
    model, opt = model_for(cell, vocab, dtype), Adagrad(0.1)
    state = model.cells[0].zero_state(1)
    start = time.perf_counter()
    for i in range(steps):
        p = i * WINDOW
        state = batch1_update(model, opt, ids[p:p + WINDOW], ids[p + 1:p + WINDOW + 1], state)
    return steps * WINDOW / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm"])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="updates per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    text, source = load_text()
    vocab = Vocab.build(text)
    ids = vocab.encode(text)
    print(f"text: {source}, {len(vocab)} symbols; H={HIDDEN}, E={EMBED}, T={WINDOW}, "
          f"B={args.batch}, BLAS threads={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"medians of {args.repeats} x {args.steps} updates")
    print(f"{'cell':<5} {'dtype':<8} {'batched tok/s':>14} {'batch-1 tok/s':>14} {'ratio':>7}")
    for cell in args.cells:
        for dtype in args.dtypes:
            fast, slow = [], []
            for _ in range(args.repeats):  # interleaved, so load changes hit both sides
                fast.append(batched_tokens_per_second(cell, dtype, ids, len(vocab), args.batch,
                                                      args.steps))
                slow.append(batch1_tokens_per_second(cell, dtype, ids, len(vocab), args.steps))
            f, s = statistics.median(fast), statistics.median(slow)
            print(f"{cell:<5} {dtype:<8} {f:>14,.0f} {s:>14,.0f} {f / s:>6.1f}x")


if __name__ == "__main__":
    main()

"""What a model knows about Dyck strings: the next closer's type, and when a string may end.

Every scorer gives, for each position t of a text laid out as

    "\\n" + string_1 + "\\n" + string_2 + "\\n" + ...        (one Dyck string per line)

the probability of each symbol (the openers and closers of the pairs, then "\\n") as the next
character given the text before t (row 0, the leading newline, is not predicted). The
recurrent LM reads groups of whole lines, each group from a zero state after a newline
(`lm_next_probs`); the n-gram model reads every line from `<s>`, its `</s>` standing for the
newline (`ngram_next_probs`). From those probabilities (`measure`):

- closing accuracy: at every closer, is the most likely closer the right type? Which
  closer comes is fixed by the opener it matches, so this isolates memory of the stack; it
  is reported overall, by depth (open brackets just before the closer, >= 1) and by the
  distance to the matching opener in characters (buckets 1, 2-3, 4-7, ...);
- "close now": where the string so far is balanced and not empty, the string may end: the
  mass on "\\n" there (`p_end_balanced`; `end_rate_balanced` is how often the string does
  end there, what a calibrated model puts on average), beside the mass on any closer there,
  which is illegal (`p_closer_balanced`), and the mass on "\\n" where brackets are still
  open, also illegal (`p_end_open`).

Leaves out: the full "set of legal next characters" accuracy of Suzgun et al. (2019), strings
the model generates (it is scored on the corpus' own strings).
"""

import numpy as np
import torch

from seqlm.data.vocab import Vocab
from seqlm.lab.structure_labels import scan
from seqlm.metrics import wilson_interval
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import BOS, EOS


def layout(lines: list[str]) -> str:
    """The scored text: a newline, then every line followed by a newline."""
    return "\n" + "".join(line + "\n" for line in lines)


@torch.inference_mode()
def lm_next_probs(model, vocab: Vocab, lines: list[str], symbols: str, rows: int) -> np.ndarray:
    """(N, S) next-symbol probabilities of a recurrent LM over `layout(lines)`; groups of
    lines run side by side as the rows of one batch, each from a zero state."""
    text = layout(lines)
    probs = np.zeros((len(text), len(symbols)))
    columns = [vocab.stoi.get(ch, -1) for ch in symbols]
    groups = [g for g in np.array_split(np.arange(len(lines)), max(1, min(rows, len(lines))))
              if len(g)]
    texts = [layout([lines[i] for i in g]) for g in groups]
    longest = max(len(t) for t in texts)
    newline = vocab.stoi.get("\n", 0)
    ids = np.full((len(texts), longest), newline, dtype=np.int64)  # (R, T), newline-padded
    for r, t in enumerate(texts):
        ids[r, : len(t)] = vocab.encode(list(t))
    model.eval()
    logits, _, _ = model(torch.from_numpy(ids))  # (R, T, V)
    p = torch.softmax(logits.double(), dim=-1).numpy()  # (R, T, V)
    start = 0  # each group begins at the newline that ends the previous one
    for r, t in enumerate(texts):
        for s, col in enumerate(columns):
            if col >= 0:
                probs[start + 1 : start + len(t), s] = p[r, : len(t) - 1, col]
        start += len(t) - 1
    return probs


def ngram_next_probs(model: NgramModel, lines: list[str], symbols: str) -> np.ndarray:
    """(N, S) next-symbol probabilities of an n-gram model over `layout(lines)`: each line
    is a sentence (`<s>` before, `</s>` for its newline). Distributions are computed once
    per distinct context (a local table, gone when the call returns)."""
    text = layout(lines)
    probs = np.zeros((len(text), len(symbols)))
    ids = [model.vocab.index.get(EOS if ch == "\n" else ch, -1) for ch in symbols]
    keep = [s for s, i in enumerate(ids) if i >= 0]
    seen: dict[tuple[str, ...], np.ndarray] = {}
    t = 1
    for line in lines:
        history = [BOS, *line]
        for j in range(len(line) + 1):  # every character, then the end of the line
            context = tuple(history[max(0, j + 1 - (model.order - 1)) : j + 1])
            if context not in seen:
                dist = model.distribution(list(context))
                seen[context] = dist[[ids[s] for s in keep]]
            probs[t, keep] = seen[context]
            t += 1
    return probs


def distance_bucket(distance: int) -> str:
    """1, 2-3, 4-7, 8-15, ...: powers of two."""
    low = 1 << (int(distance).bit_length() - 1)
    return f"{low}-{2 * low - 1}" if low > 1 else "1"


def tally(table: dict, key, correct: bool) -> None:
    entry = table.setdefault(key, {"correct": 0, "total": 0})
    entry["correct"] += int(correct)
    entry["total"] += 1


def with_interval(entry: dict) -> dict:
    """A tally with its accuracy and 95% Wilson interval, as the agreement table shows."""
    n = entry["total"]
    return {**entry, "accuracy": entry["correct"] / n,
            "interval": list(wilson_interval(entry["correct"], n))}


def measure(lines: list[str], probs: np.ndarray, pairs: str) -> dict:
    """Closing accuracy (overall, by depth, by distance) and the "close now" masses; `probs`
    columns follow `pairs + "\\n"`."""
    text = layout(lines)
    s = scan(text, pairs)
    closer_cols = np.arange(1, len(pairs), 2)
    by_depth: dict[int, dict] = {}
    by_distance: dict[str, dict] = {}
    correct = 0
    for opener, closer in s.matches:
        right = pairs.index(text[closer]) // 2
        hit = int(np.argmax(probs[closer, closer_cols])) == right
        correct += hit
        tally(by_depth, int(s.depth[closer]) + 1, hit)
        tally(by_distance, distance_bucket(closer - opener), hit)
    prev = np.arange(1, len(text))  # position t is predicted from the text up to t - 1
    after_newline = np.array([text[t - 1] == "\n" for t in prev])
    balanced = prev[(s.depth[prev - 1] == 0) & ~after_newline]
    still_open = prev[s.depth[prev - 1] > 0]
    n = len(s.matches)
    return {
        "closers": n, "closing_accuracy": correct / n if n else None,
        "by_depth": {str(d): by_depth[d] for d in sorted(by_depth)},
        "by_distance": {k: with_interval(by_distance[k]) for k in
                        sorted(by_distance, key=lambda b: int(b.split("-")[0]))},
        "balanced_prefixes": int(len(balanced)),
        "p_end_balanced": float(probs[balanced, -1].mean()) if len(balanced) else None,
        # how often the string does end there: a calibrated model's average p_end_balanced
        "end_rate_balanced": float(np.mean([text[t] == "\n" for t in balanced]))
        if len(balanced) else None,
        "p_closer_balanced": float(probs[np.ix_(balanced, closer_cols)].sum(1).mean())
        if len(balanced) else None,
        "p_end_open": float(probs[still_open, -1].mean()) if len(still_open) else None,
    }

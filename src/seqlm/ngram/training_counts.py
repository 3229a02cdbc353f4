"""The raw training counts of a backoff model's n-grams, found again by counting the text it
was trained on.

An ARPA or binary model keeps probabilities, not counts, but count cut-offs before entropy
pruning (SRILM's practice: `ngram-count -gtNmin` then `ngram -prune`; Stolcke 1998, section 4)
need each n-gram's raw count. This counts the training text again with the model's unit and
order (`seqlm.ngram.fit.count_text`: every n-gram inside one line, the same stream the model was
trained on) and finds each of the model's n-grams among the counts by its words, so the two
vocabularies may number their words differently. A model n-gram that the text never contains
means the text is not the model's training text: a one-line error. Leaves out: counting a
corpus larger than memory in pieces (the counts of the whole text are held at once).
"""

from pathlib import Path

import numpy as np

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import trie
from seqlm.ngram.fit import count_text
from seqlm.ngram.model import NgramModel
from seqlm.ngram.static_mix import rows_of


def model_ids_of(rows: np.ndarray, model: NgramModel) -> np.ndarray:
    """Ids in `model` of the order-k n-grams `rows` (M, k) of model word ids; -1 where the
    model does not list one (or a word is not in its vocabulary: id -1)."""
    ids = rows[:, 0].copy()
    for j in range(1, rows.shape[1]):
        ok = (ids >= 0) & (rows[:, j] >= 0)
        key = trie.pack(np.where(ok, ids, 0), np.where(ok, rows[:, j], 0), model.V)
        ids = np.where(ok, trie.find(model.keys[j], key), -1)
    return ids


def training_counts(model: NgramModel, text: str | Path) -> list[np.ndarray]:
    """(M_k,) int64 raw count in `text` of every order-k n-gram of `model`, for k = 2..N
    (index k-2)."""
    counts = count_text(text, NgramConfig(order=model.order, unit=model.unit))
    to_model = np.array([model.vocab.index.get(t, -1) for t in counts.vocab.tokens])
    keys = [k.array() for k in counts.keys]
    out = []
    for k in range(2, model.order + 1):
        ids = model_ids_of(to_model[rows_of(keys, k, counts.V)], model)
        listed = ids >= 0
        raw = np.zeros(len(model.keys[k - 1]), dtype=np.int64)
        raw[ids[listed]] = counts.counts[k - 1].array()[listed]
        missing = int((raw == 0).sum())
        if missing:
            raise SeqlmError(f"{missing:,} of the model's {k}-grams never occur in the text "
                             "given: count cut-offs need the text the model was trained on "
                             "(the --corpus and split of `seqlm ngram train`)")
        out.append(raw)
    return out

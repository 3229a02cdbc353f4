"""What a corpus holds: sizes, vocabulary, splits, checksum and sample lines.

One function serves `seqlm data show` and the lab's corpus table. Leaves out: n-gram
statistics (the n-gram package measures those).
"""

from seqlm.data.corpora import Corpus
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import Vocab

SAMPLE_CHARS = 200  # a sample line is cut here: a one-line 45 MB file must not print whole


def summarize(corpus: Corpus, unit: str | None = None, samples: int = 3) -> dict:
    """Sizes in characters, bytes and tokens of `unit` (default: the corpus' own), the
    training vocabulary size, and the first `samples` training lines (each cut at
    `SAMPLE_CHARS` characters, marked with an ellipsis)."""
    unit = unit or corpus.default_unit
    tokenizer = get_tokenizer(unit)
    splits = {}
    for name, text in corpus.splits.items():
        splits[name] = {"chars": len(text), "bytes": len(text.encode("utf-8")),
                        "tokens": len(tokenizer.tokenize(text)), "lines": text.count("\n")}
    vocab = Vocab.build(tokenizer.tokenize(corpus.splits["train"]))
    lines = []
    for line in corpus.splits["train"].splitlines():
        if len(lines) == samples:
            break
        if line.strip():
            lines.append(line if len(line) <= SAMPLE_CHARS else line[:SAMPLE_CHARS] + "…")
    return {
        "name": corpus.name,
        "description": corpus.description,
        "source": corpus.source,
        "sha256": corpus.sha256,
        "unit": unit,
        "chars": sum(s["chars"] for s in splits.values()),
        "vocab_size": len(vocab),
        "splits": splits,
        "samples": lines,
    }

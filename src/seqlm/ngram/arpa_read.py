"""Reading ARPA files: any writer's (KenLM's, SRILM's, seqlm's) into an `NgramModel`.

The format is described in `seqlm.ngram.arpa`. Tabs or spaces separate fields; n-grams may come
in any order within a section; lines starting with `#` before `\\data\\` are comments (a
`# seqlm unit=char` line tells the token unit). Every n-gram's context must be among the
lower-order n-grams (as KenLM and SRILM write them). A malformed file raises `SeqlmError`
naming the file and line. `<s>` is never predicted, whatever its line says; a file without
`<unk>` gets log10 p(`<unk>`) = -100, KenLM's choice. Leaves out: gzip'd files, KenLM's
binary format.
"""

import re
from pathlib import Path

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram import trie
from seqlm.ngram.arpa import unescape
from seqlm.ngram.model import PRECISIONS, NgramModel
from seqlm.ngram.stream import BOS, UNITS, UNK, NgramVocab

UNK_MISSING_LOG10 = -100.0  # KenLM's log10 p(<unk>) for a file without <unk>


class ArpaLines:
    """The lines of an ARPA file with their numbers, for errors that point at a line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.lines = path.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            raise SeqlmError(f"ARPA file {path} does not exist: give the path of an ARPA "
                             "file, or train one with `seqlm ngram train --arpa FILE`") from None
        except (UnicodeDecodeError, IsADirectoryError) as e:
            raise SeqlmError(f"{path} is not a UTF-8 ARPA text file ({e})") from None
        self.i = 0  # index of the next line

    def error(self, message: str, number: int | None = None) -> SeqlmError:
        return SeqlmError(f"{self.path} line {number or self.i}: {message}")

    def next_nonblank(self) -> str:
        while self.i < len(self.lines):
            line = self.lines[self.i].strip()
            self.i += 1
            if line:
                return line
        raise self.error("the file ends early: an ARPA file ends with \\end\\")


def read_header(src: ArpaLines) -> tuple[list[int], dict[str, str]]:
    """The n-gram counts of `\\data\\` and the `# seqlm key=value` hints before it."""
    hints: dict[str, str] = {}
    line = src.next_nonblank()
    while line.startswith("#"):
        hints.update(kv.split("=", 1) for kv in line[1:].split() if "=" in kv)
        line = src.next_nonblank()
    if line != "\\data\\":
        raise src.error(f"expected \\data\\ to open an ARPA file, found {line[:40]!r}")
    sizes = []
    while True:
        line = src.next_nonblank()
        m = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", line)
        if m is None:
            break
        if int(m.group(1)) != len(sizes) + 1:
            raise src.error(f"expected the count of {len(sizes) + 1}-grams, found {line!r}")
        sizes.append(int(m.group(2)))
    if not sizes:
        raise src.error("\\data\\ lists no `ngram 1=COUNT` line")
    src.i -= 1  # the section header is read again by read_section
    return sizes, hints


def read_section(src: ArpaLines, k: int, n: int, highest: bool,
                 ) -> tuple[list[float], list[float], list[list[str]], list[int]]:
    """log10 probabilities, log10 backoffs, words and line numbers of one order's n-grams."""
    header = src.next_nonblank()
    if header != f"\\{k}-grams:":
        raise src.error(f"expected the section header \\{k}-grams:, found {header[:40]!r}")
    probs, backoffs, grams, numbers = [], [], [], []
    for _ in range(n):
        line = src.next_nonblank()
        fields = [f for f in line.replace("\t", " ").split(" ") if f]
        if len(fields) not in ((k + 1,) if highest else (k + 1, k + 2)):
            raise src.error(f"expected log10 p, {k} word(s)" + ("" if highest else
                            " and an optional backoff") + f", found {len(fields)} fields "
                            "(the header's n-gram count may be wrong)")
        try:
            probs.append(float(fields[0]))
            backoffs.append(float(fields[k + 1]) if len(fields) == k + 2 else 0.0)
        except ValueError:
            raise src.error(f"not a number in {line[:60]!r}") from None
        grams.append(fields[1:k + 1])
        numbers.append(src.i)
    return probs, backoffs, grams, numbers


def unigram_vocab(src: ArpaLines, grams: list[list[str]], numbers: list[int],
                  unit: str) -> tuple[NgramVocab, np.ndarray]:
    """The vocabulary (specials first) and each unigram line's word id."""
    try:
        words = [unescape(g[0], unit) for g in grams]
    except ValueError as e:
        raise src.error(f"{e} is not one {unit} token: pass the unit the model was "
                        "trained with (--unit)", numbers[0]) from None
    for special in (BOS, "</s>"):
        if special not in words:
            raise src.error(f"the unigrams lack {special}: not a sentence-level ARPA model",
                            numbers[0] if numbers else None)
    vocab = NgramVocab(words + ([] if UNK in words else [UNK]))
    if len(set(words)) != len(words):
        seen: set[str] = set()
        for w, number in zip(words, numbers, strict=True):
            if w in seen:
                raise src.error(f"the unigram {w!r} appears twice", number)
            seen.add(w)
    return vocab, np.array([vocab.index[w] for w in words], dtype=np.int64)


def read_arpa(path: str | Path, unit: str | None = None, precision: str = "double",
              ) -> NgramModel:
    """Read an ARPA file into a model of the backoff form; `unit` defaults to the file's
    `# seqlm unit=` hint, else word. precision "kenlm" keeps each number as the float32 KenLM
    loads and sums perplexities as its `query` does (`seqlm.ngram.single_precision`)."""
    if precision not in PRECISIONS:
        raise SeqlmError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    src = ArpaLines(Path(path))
    sizes, hints = read_header(src)
    unit = unit or hints.get("unit", "word")
    if unit not in UNITS:
        raise SeqlmError(f"unknown unit {unit!r}: choose one of {', '.join(UNITS)}")
    order = len(sizes)
    probs, backoffs, grams, numbers = read_section(src, 1, sizes[0], order == 1)
    vocab, ids = unigram_vocab(src, grams, numbers, unit)
    V = len(vocab)
    logp1 = np.full(V, UNK_MISSING_LOG10)
    logp1[ids] = probs
    logp1[vocab.index[BOS]] = -np.inf  # <s> is never predicted, whatever the file says
    keys, logp = [np.arange(V, dtype=np.int64)], [logp1]
    backoff = [np.zeros(V)]
    backoff[0][ids] = backoffs
    names = {g[0]: int(i) for g, i in zip(grams, ids, strict=True)}
    for k in range(2, order + 1):
        probs, backoffs, grams, numbers = read_section(src, k, sizes[k - 1], k == order)
        key, rank = order_keys(src, grams, numbers, names, vocab, unit)
        keys.append(key)
        logp.append(np.asarray(probs)[np.argsort(rank)])
        if k < order:
            backoff.append(np.asarray(backoffs)[np.argsort(rank)])
            names = {" ".join(g): int(r) for g, r in zip(grams, rank, strict=True)}
    end = src.next_nonblank()
    if end != "\\end\\":
        raise src.error(f"expected \\end\\ after the {order}-grams, found {end[:40]!r} (the "
                        "header's n-gram counts may be too small)")
    if precision == "kenlm":
        logp = [np.asarray(lp, dtype=np.float32) for lp in logp]
        backoff = [np.asarray(b, dtype=np.float32) for b in backoff]
    return NgramModel(vocab=vocab, unit=unit, order=order,
                      smoothing=hints.get("smoothing", "arpa"), form="backoff", keys=keys,
                      logp=[np.asarray(lp, dtype=np.float64) * LN10 for lp in logp],
                      backoff=[np.asarray(b, dtype=np.float64) * LN10 for b in backoff],
                      info={"counts": sizes, "source": str(path)}, precision=precision)


def order_keys(src: ArpaLines, grams: list[list[str]], numbers: list[int],
               names: dict[str, int], vocab: NgramVocab, unit: str,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys of one order's n-grams and each line's rank among them."""
    parents = np.empty(len(grams), dtype=np.int64)
    words = np.empty(len(grams), dtype=np.int64)
    for i, (g, number) in enumerate(zip(grams, numbers, strict=True)):
        context = " ".join(g[:-1])
        if context not in names:
            raise src.error(f"the context {context!r} of this n-gram is not among the "
                            f"{len(g) - 1}-grams", number)
        try:
            word = unescape(g[-1], unit)
        except ValueError:
            word = None
        if word not in vocab.index:
            raise src.error(f"the word {g[-1]!r} is not among the unigrams", number)
        parents[i], words[i] = names[context], vocab.index[word]
    key = trie.pack(parents, words, len(vocab))
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(np.diff(key[order]) == 0)
    if len(dup):
        raise src.error(f"the n-gram {' '.join(grams[order[dup[0] + 1]])!r} appears twice",
                        numbers[order[dup[0] + 1]])
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key))
    return key[order], rank


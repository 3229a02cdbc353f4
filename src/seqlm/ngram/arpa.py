"""ARPA files: the n-gram interchange format (Paul & Baker 1992), written as KenLM writes it.

    \\data\\
    ngram 1=M1
    ...
    \\1-grams:
    log10 p(w)<TAB>w<TAB>log10 backoff(w)
    ...
    \\N-grams:
    log10 p(w_N | w_1 … w_N-1)<TAB>w_1 … w_N
    \\end\\

`write_arpa` writes any model of the backoff form (mle, kn, mkn): interpolated probabilities
and log10 gamma as backoffs reproduce the model; every number is the shortest decimal that
reads back as the same float32, as KenLM prints it (KenLM loads floats: a `precision="kenlm"`
model is written exactly, a double one to float32's 7 digits); a backoff of 0 is left out, p = 0
(`<s>`, MLE's unseen words) is written as -99, and `# seqlm unit=... smoothing=...` comment
lines before `\\data\\` (which KenLM accepts) record the token unit; `seqlm.ngram.arpa_read`
reads any ARPA file back. Add-k and stupid backoff cannot be
written: add-k gives every unseen word after a context the same mass, which no backoff weight
times a lower-order distribution expresses, and stupid backoff's scores are not
probabilities.

Tokens that ARPA would split (char and byte units: the space and other whitespace, and bytes
outside printable ASCII) are written escaped: ` ` as `<sp>`, other whitespace characters as
`<U+XXXX>`, bytes as `<0xXX>`. Leaves out: gzip'd ARPA, KenLM's binary format.
"""

import re
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram import byte_layout, trie
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import NGRAM_SPECIALS

LOG10_ZERO = -99.0  # what ARPA writers use for log10 0
SPACE = "<sp>"
_ESCAPED = re.compile(r"^<(?:U\+([0-9A-F]{4,6})|0x([0-9A-F]{2}))>$")


def escape(token: str, unit: str) -> str:
    """A token as it appears in an ARPA file (see the module docstring)."""
    if unit == "word" or token in NGRAM_SPECIALS:
        return token
    if token == " ":
        return SPACE
    if unit == "byte" and not (0x21 <= ord(token) <= 0x7E):
        return f"<0x{ord(token):02X}>"
    if token.isspace() or not token.isprintable():
        return f"<U+{ord(token):04X}>"
    return token


def unescape(token: str, unit: str) -> str:
    if unit == "word" or len(token) == 1 or token in NGRAM_SPECIALS:
        return token
    if token == SPACE:
        return " "
    m = _ESCAPED.match(token)
    if m is None:
        raise ValueError(token)
    return chr(int(m.group(1) or m.group(2), 16))


# -- writing -------------------------------------------------------------------------------
# Lines are NumPy `S` strings: log10 p's decimal (`seqlm.ngram.byte_layout`) + the n-gram's
# b"\tw1 w2 ..." (its context's name + b" w", one `np.strings.add` per order) + b"\tbackoff\n"
# (b"\n" where the backoff is 0 or at the highest order). `S` strings drop their NUL padding
# in `.tolist()`, and one `bytes.join` glues a section: no Python loop per n-gram.


def to_log10(nats: np.ndarray) -> np.ndarray:
    """Nats to log10 as float32, the precision of ARPA numbers, with p = 0 written as -99."""
    return np.where(np.isneginf(nats), LOG10_ZERO, nats / LN10).astype(np.float32)


def backoff_texts(backoff10: np.ndarray) -> np.ndarray:
    """b"\t<decimal>\n" per backoff, b"\n" where it is 0 (left out). (M,) S strings"""
    written = np.flatnonzero(backoff10 != 0)
    decimals = byte_layout.decimal_strings(backoff10[written])
    texts = np.full(len(backoff10), b"\n", dtype=f"S{decimals.dtype.itemsize + 2}")
    texts[written] = np.strings.add(np.strings.add(b"\t", decimals), b"\n")
    return texts


def section_bytes(model: NgramModel, k: int, names: np.ndarray) -> bytes:
    """The order-k section; `names` (M_k,) S strings hold each n-gram's b"\tw1 ... wk"."""
    lines = np.strings.add(byte_layout.decimal_strings(to_log10(model.logp[k - 1])), names)
    if k < model.order:
        lines = np.strings.add(lines, backoff_texts(to_log10(model.backoff[k - 1])))
    else:
        lines = np.strings.add(lines, b"\n")
    return b"".join(lines.tolist())


def arpa_bytes(model: NgramModel) -> bytes:
    """The whole ARPA file of a backoff-form model (see the module docstring)."""
    if model.form != "backoff":
        raise SeqlmError(
            f"a {model.smoothing} model cannot be written as ARPA: ARPA's backoff form cannot "
            "express add-k's floor or stupid backoff's scores; use --smoothing mkn, kn or mle"
        )
    header = (f"# seqlm unit={model.unit} order={model.order} smoothing={model.smoothing}\n\n"
              "\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(model.sizes(), 1)))
    parts = [header.encode()]
    tokens = [escape(t, model.unit).encode("utf-8") for t in model.vocab.tokens]
    spaced = np.array([b" " + t for t in tokens])
    names = np.array([b"\t" + t for t in tokens])
    for k in range(1, model.order + 1):
        if k > 1:
            keys = model.keys[k - 1]
            names = byte_layout.narrow(np.strings.add(names[trie.parents(keys, model.V)],
                                                      spaced[trie.last_words(keys, model.V)]))
        parts += [f"\n\\{k}-grams:\n".encode(), section_bytes(model, k, names)]
    parts.append(b"\n\\end\\\n")
    return b"".join(parts)


def write_arpa(model: NgramModel, path: str | Path) -> Path:
    """Write `model` as an ARPA file (atomically)."""
    data = arpa_bytes(model)
    return atomic_write(path, lambda f: f.write(data))

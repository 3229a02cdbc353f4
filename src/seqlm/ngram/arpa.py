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
and log10 gamma as backoffs reproduce the model exactly; a backoff of 0 is left out, p = 0
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
from itertools import repeat
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram import trie
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import SPECIALS

LOG10_ZERO = -99.0  # what ARPA writers use for log10 0
SPACE = "<sp>"
_ESCAPED = re.compile(r"^<(?:U\+([0-9A-F]{4,6})|0x([0-9A-F]{2}))>$")


def escape(token: str, unit: str) -> str:
    """A token as it appears in an ARPA file (see the module docstring)."""
    if unit == "word" or token in SPECIALS:
        return token
    if token == " ":
        return SPACE
    if unit == "byte" and not (0x21 <= ord(token) <= 0x7E):
        return f"<0x{ord(token):02X}>"
    if token.isspace() or not token.isprintable():
        return f"<U+{ord(token):04X}>"
    return token


def unescape(token: str, unit: str) -> str:
    if unit == "word" or len(token) == 1 or token in SPECIALS:
        return token
    if token == SPACE:
        return " "
    m = _ESCAPED.match(token)
    if m is None:
        raise ValueError(token)
    return chr(int(m.group(1) or m.group(2), 16))


# -- writing -------------------------------------------------------------------------------
# A 5-gram ARPA file of Tiny Shakespeare holds a million numbers and two million words;
# formatting them one at a time costs ~0.5 s. Instead the numbers are laid out as digits in a
# NumPy byte matrix, every n-gram's "\tw1 w2 ..." is its context's bytes plus " w", and a line
# is three pieces (number, words, "\tbackoff\n" or "\n") that one `bytes.join` glues.

WIDTH = 10  # characters per number: -5.0838912, -99.000000, 0.00000000


def fixed_width(values: np.ndarray) -> np.ndarray:
    """Every value in exactly WIDTH characters with as many decimals as fit. (N, WIDTH) uint8"""
    neg = values < 0
    a = np.minimum(np.abs(values), 10.0 ** (WIDTH - 3) - 1)  # keep at least one decimal
    digits = np.maximum(np.floor(np.log10(np.maximum(a, 1.0))).astype(np.int64) + 1, 1)
    decimals = WIDTH - 1 - digits - neg
    scaled = np.rint(a * 10.0 ** decimals).astype(np.int64)
    carry = scaled >= 10 ** (digits + decimals)  # 9.99999996 rounds up to 10.0000000
    decimals[carry] -= 1
    scaled[carry] = np.rint(a[carry] * 10.0 ** decimals[carry]).astype(np.int64)
    point = WIDTH - 1 - decimals  # (N,) column of the decimal point
    out = np.empty((len(values), WIDTH), dtype=np.uint8)
    for col in range(WIDTH - 1, -1, -1):  # digits from the right
        is_point, is_sign = point == col, neg & (col == 0)
        out[:, col] = np.where(is_point, ord("."), np.where(is_sign, ord("-"), 48 + scaled % 10))
        scaled = np.where(is_point | is_sign, scaled, scaled // 10)
    return out


def number_texts(log10: np.ndarray, before: bytes = b"", after: bytes = b"") -> list[bytes]:
    """The values as bytes, each framed by `before` and `after`."""
    framed = np.hstack([np.frombuffer(before, np.uint8)[None].repeat(len(log10), 0),
                        fixed_width(log10), np.frombuffer(after, np.uint8)[None].repeat(
                            len(log10), 0)])
    return framed.view(f"S{framed.shape[1]}").ravel().tolist()


def to_log10(nats: np.ndarray) -> np.ndarray:
    """Nats to log10, with p = 0 written as ARPA's -99."""
    return np.where(np.isneginf(nats), LOG10_ZERO, nats / LN10)


def section_lines(model: NgramModel, k: int, names: list[bytes]) -> bytes:
    """The order-k section; `names` holds each n-gram's b"\tw1 ... wk"."""
    probs = number_texts(to_log10(model.logp[k - 1]))
    if k == model.order:
        tails = repeat(b"\n", len(names))
    else:
        backoff = to_log10(model.backoff[k - 1])
        tails = np.array(number_texts(backoff, b"\t", b"\n"), dtype=object)
        tails[backoff == 0.0] = b"\n"  # no backoff written where it is 0
        tails = tails.tolist()
    return b"".join(map(bytes.__add__, map(bytes.__add__, probs, names), tails))


def arpa_bytes(model: NgramModel) -> bytes:
    """The whole ARPA file of a backoff-form model (see the module docstring)."""
    if model.form != "backoff":
        raise SeqlmError(
            f"a {model.smoothing} model cannot be written as ARPA: ARPA's backoff form cannot "
            "express add-k's floor or stupid backoff's scores; use --smoothing mkn, kn or mle"
        )
    tokens = [escape(t, model.unit).encode("utf-8") for t in model.vocab.tokens]
    spaced = [b" " + t for t in tokens]
    header = (f"# seqlm unit={model.unit} order={model.order} smoothing={model.smoothing}\n\n"
              "\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(model.sizes(), 1)))
    parts = [header.encode()]
    names = [b"\t" + t for t in tokens]
    for k in range(1, model.order + 1):
        if k > 1:
            keys = model.keys[k - 1]
            contexts = map(names.__getitem__, trie.parents(keys, model.V).tolist())
            last = map(spaced.__getitem__, trie.last_words(keys, model.V).tolist())
            names = list(map(bytes.__add__, contexts, last))
        parts += [f"\n\\{k}-grams:\n".encode(), section_lines(model, k, names)]
    parts.append(b"\n\\end\\\n")
    return b"".join(parts)


def write_arpa(model: NgramModel, path: str | Path) -> Path:
    """Write `model` as an ARPA file (atomically)."""
    data = arpa_bytes(model)
    return atomic_write(path, lambda f: f.write(data))

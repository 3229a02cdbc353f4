"""Text laid out in NumPy byte matrices: float32 decimals, many at once.

An ARPA file of a 5-gram Tiny Shakespeare model holds a million numbers; formatting them one
Python float at a time costs half a second. `decimal_strings` writes each value as the shortest
decimal that reads back as the same float32 (the way KenLM prints its floats): it tries 6, 7, 8
and 9 significant digits (9 always reads back) and drops trailing zeros. The sign and integer
part come from a table of b"0" .. b"-999"; the point and decimals are digits from a table of
the 1000 three-digit groups, laid left-aligned in a NUL-padded byte matrix:

        sign, integer   point, decimals (a row, NUL-padded)
          b"-5"     +   |.0838914|          ->  b"-5.0838914"
          b"-99"    +   |        |          ->  b"-99"

A NUL-padded row viewed as NumPy's `S` dtype is a string without the padding, which
`np.strings.add` joins to others and `.tolist()` hands to Python's `bytes.join`.
Leaves out: exponent notation. At most 18 decimals are written, so values below 1e-9 in
magnitude keep fewer than 9 significant digits (an absolute error below 1e-18: for a log10
backoff, a factor within 1e-17 of the exact one) and values below 1e-18 are written as 0.
"""

import numpy as np

MAX_DECIMALS = 18  # digits * 10**(18 - decimals) must fit an int64
POW10 = 10 ** np.arange(19, dtype=np.int64)
_POW10F = 10.0 ** np.arange(-30, 31)  # 10.0**e at index e + 30
_GROUPS = np.array([f"{i:03d}".encode() for i in range(1000)], dtype="S3")  # b"000" .. b"999"


def significant_decimals(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest (scaled, decimals) with scaled / 10**decimals == a as float32. a >= 0. (N,)"""
    with np.errstate(divide="ignore"):
        e = np.floor(np.log10(np.where(a > 0, a, 1.0))).astype(np.int64).clip(-30, 30)
    e -= _POW10F[e + 30] > a  # log10 can round across a power of ten
    target = a.astype(np.float32)
    scaled = np.zeros(len(a), dtype=np.int64)
    decimals = np.zeros(len(a), dtype=np.int64)
    todo = np.flatnonzero(a > 0)
    for digits in (6, 7, 8, 9):
        d = np.clip(digits - 1 - e[todo], 0, MAX_DECIMALS)
        sc = np.rint(a[todo] * _POW10F[d + 30])
        ok = (sc / _POW10F[d + 30]).astype(np.float32) == target[todo]
        if digits == 9:  # nine significant digits always identify a float32
            ok[:] = True
        scaled[todo[ok]], decimals[todo[ok]] = sc[ok].astype(np.int64), d[ok]
        if digits == 6:
            six = todo[ok]  # only these can end in zeros: a shorter text would have read back
        todo = todo[~ok]
    while len(six):  # drop trailing zeros: 0.250000 -> 0.25, -99.0000 -> -99
        six = six[(scaled[six] % 10 == 0) & (decimals[six] > 0)]
        scaled[six] //= 10
        decimals[six] -= 1
    return scaled, decimals


def digits_right(x: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of x >= 0 (N,), right-aligned and zero-padded: (N, width) uint8."""
    groups = -(-width // 3)
    out = np.empty((len(x), groups), dtype="S3")
    for g in range(groups - 1, -1, -1):  # three digits at a time, from the right
        rest = x // 1000
        out[:, g] = _GROUPS[x - rest * 1000]
        x = rest
    return out.view(np.uint8).reshape(len(x), 3 * groups)[:, 3 * groups - width:]


_HEADS = np.array([f"{i}".encode() for i in range(1000)]
                  + [f"-{i}".encode() for i in range(1000)])  # sign and integer part, |x| < 1000


def decimal_strings(values: np.ndarray) -> np.ndarray:
    """The shortest float32 decimal of every value as NumPy `S` strings (N,): sign and
    integer part from a table (Python's `str` for the rare |x| >= 1000), then the point and
    the decimals, left-aligned and NUL-padded."""
    values = np.asarray(values, dtype=np.float64)
    scaled, decimals = significant_decimals(np.abs(values))
    integer = np.floor(scaled / POW10[decimals]).astype(np.int64)  # exact: scaled < 1e10
    fraction = scaled - integer * POW10[decimals]
    neg = (values < 0) & (scaled > 0)
    heads = _HEADS[np.minimum(integer, 999) + 1000 * neg]
    big = np.flatnonzero(integer >= 1000)
    if len(big):
        heads = heads.astype(object)
        heads[big] = [f"{'-' * int(n)}{i}".encode() for n, i in zip(neg[big], integer[big],
                                                                strict=True)]
        heads = heads.astype(bytes)
    top = int(decimals.max(initial=0))
    tail = np.zeros((len(values), top + 1), dtype=np.uint8)
    tail[:, 0] = ord(".")
    tail[:, 1:] = digits_right(fraction * POW10[top - decimals], top)  # left-justified
    used = np.where(decimals > 0, decimals + 1, 0)  # point and decimals, or nothing
    tail *= np.arange(top + 1)[None] < used[:, None]
    return np.strings.add(heads, as_strings(tail))


def as_strings(text: np.ndarray) -> np.ndarray:
    """Rows of a NUL-padded (N, W) uint8 matrix as NumPy `S` strings (N,), which ignore the
    padding (`np.strings.add`, `.tolist()`)."""
    return np.ascontiguousarray(text).view(f"S{text.shape[1]}").ravel()


def narrow(strings: np.ndarray) -> np.ndarray:
    """`S` strings in the width of the longest (a sum of widths is mostly padding)."""
    return strings.astype(f"S{max(int(np.strings.str_len(strings).max(initial=0)), 1)}")

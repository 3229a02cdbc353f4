"""Text laid out in NumPy byte matrices: float32 decimals and ARPA lines, many at once.

An ARPA file of a 5-gram Tiny Shakespeare model holds a million numbers; formatting them one
Python float at a time costs half a second. Every field of a line goes into a fixed-width
column of a (rows, width) uint8 matrix, padded with `PAD` (0xFF, a byte that never occurs in
UTF-8 text or in an ASCII escape), and one boolean mask drops the padding of the whole block:

        head   point, decimals  tab word 1  sep word 2  newline
        |..-5| |.0838914|       |\\t|the...|  | |cat...|  |\\n|  -> b"-5.0838914\\tthe cat\\n"
        |.-99| |........|       |\\t|<s>...|  |.|......|  |\\n|  -> b"-99\\t<s>\\n"
        (. = PAD)

`decimal_matrix` writes each value as the shortest decimal that reads back as the same
float32 (the way KenLM prints its floats): the closest decimal with 6, 7, 8 and 9 significant
digits is made for every value in four whole-array passes, the shortest that reads back
wins (9 always does), and trailing zeros go. The rare values that need more than 16 decimals
(|x| < 1e-8) or more than three integer digits (|x| >= 1000) are written by NumPy's
`format_float_positional` one by one. Leaves out: exponent notation.
"""

import numpy as np

PAD = 0xFF
MAX_DECIMALS = 16  # the left-justified decimals, 4 groups of 4 digits, fit an int64
POW10 = 10 ** np.arange(19, dtype=np.int64)
_POW10F = 10.0 ** np.arange(-30, 31)  # 10.0**e at index e + 30


def _groups4() -> np.ndarray:
    """"0000" .. "9999", four ASCII bytes each as one uint32 (built in NumPy: a Python loop
    here cost every process that imports this module ~3 ms)."""
    i = np.arange(10000)
    out = np.empty((10000, 4), dtype=np.uint8)
    for k in range(4):
        out[:, 3 - k] = i // 10**k % 10 + ord("0")
    return out.view(np.uint32).ravel()


def _heads() -> np.ndarray:
    """Sign and integer part of |x| < 1000: entry i is "i", 1000 + i is "-i"; four PAD-filled
    bytes as one uint32."""
    text = "".join([f"{i:>4}" for i in range(1000)] + [f"{'-' + str(i):>4}" for i in range(1000)])
    out = np.frombuffer(text.encode(), dtype=np.uint8).copy()
    out[out == ord(" ")] = PAD  # right-aligned: the padding goes on the left
    return out.view(np.uint32)


_GROUPS4 = _groups4()
_HEADS = _heads()


def decimal_exponents(a: np.ndarray) -> np.ndarray:
    """floor(log10(a)) of every a >= 0 (N,), 0 giving -1 (the compiled engine takes these)."""
    with np.errstate(divide="ignore"):
        e = np.floor(np.log10(np.where(a > 0, a, 1.0))).astype(np.int64).clip(-30, 30)
    e -= _POW10F[e + 30] > a  # log10 can round across a power of ten
    return e


def significant_decimals(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest (scaled, decimals) with scaled / 10**decimals == a as float32. a >= 0. (N,)"""
    e = decimal_exponents(a)
    target = a.astype(np.float32)
    scaled, decimals = None, None
    for digits in (9, 8, 7, 6):  # the shortest that reads back wins: try it last
        d = np.clip(digits - 1 - e, 0, MAX_DECIMALS)
        power = _POW10F[d + 30]
        sc = np.rint(a * power)
        if scaled is None:  # nine significant digits always identify a float32
            scaled, decimals = sc, d
            continue
        ok = (sc / power).astype(np.float32) == target
        scaled, decimals = np.where(ok, sc, scaled), np.where(ok, d, decimals)
    scaled = scaled.astype(np.int64)
    six = np.flatnonzero((decimals > 0) & (scaled % 10 == 0))  # only 6 digits can end in 0
    while len(six):  # drop trailing zeros: 0.250000 -> 0.25, -99.0000 -> -99
        scaled[six] //= 10
        decimals[six] -= 1
        six = six[(scaled[six] % 10 == 0) & (decimals[six] > 0)]
    return scaled, decimals


def digits_left(x: np.ndarray, groups: int) -> np.ndarray:
    """The decimal digits of 0 <= x < 10**(4 groups) (N,), zero-padded: (N, 4 groups) uint8."""
    out = np.empty((len(x), groups), dtype=np.uint32)
    for g in range(groups - 1, -1, -1):  # four digits at a time, from the right
        rest = x // 10000
        out[:, g] = _GROUPS4[x - rest * 10000]
        x = rest
    return out.view(np.uint8)


def _pad_masks(width: int) -> np.ndarray:
    """Row d (d decimals) over the bytes point, `width` digits: 0 where the byte is written
    (the point if d > 0, the first d digits), PAD elsewhere. (W+1, 1+W)"""
    out = np.full((width + 1, 1 + width), PAD, dtype=np.uint8)
    for d in range(1, width + 1):
        out[d, :1 + d] = 0
    return out


_PAD_MASKS = [_pad_masks(w) for w in range(MAX_DECIMALS + 1)]


def decimal_matrix(values: np.ndarray) -> np.ndarray:
    """The shortest float32 decimal of every value (N,) as PAD-filled rows (N, W)."""
    values = np.asarray(values, dtype=np.float64)
    scaled, decimals = significant_decimals(np.abs(values))
    integer = scaled // POW10[decimals]
    fraction = scaled - integer * POW10[decimals]
    neg = (values < 0) & (scaled > 0)
    top = int(decimals.max(initial=0))
    rows = np.empty((len(values), 5 + top), dtype=np.uint8)  # head, point, decimals
    rows[:, :4] = _HEADS[np.minimum(integer, 999) + 1000 * neg].view(np.uint8).reshape(-1, 4)
    rows[:, 4] = ord(".")
    if top:
        groups = -(-top // 4)
        rows[:, 5:] = digits_left(fraction * POW10[4 * groups - decimals], groups)[:, :top]
    rows[:, 4:] |= _PAD_MASKS[top][decimals]
    a = np.abs(values)
    rare = np.flatnonzero((integer >= 1000) | ((a < 1e-8) & (a > 0)))
    return rows if not len(rare) else python_rows(rows, rare, values[rare])


FEW_DISTINCT = 8  # format distinct values once where at most 1 in 8 values is distinct
SAMPLE = 1024  # values looked at first: many distinct among them and the sort is skipped


def distinct_rows(values: np.ndarray, rows_of=None) -> np.ndarray:
    """`rows_of(values)` (default `decimal_matrix`), made from each distinct float32 value once
    where few are distinct (a block's backoffs: tens to a thousand values), else from every
    value (probabilities: about half distinct, where the lookup costs more than it saves;
    an evenly spread sample of `SAMPLE` values tells them apart before the whole is sorted).
    The distinct values come from a sort and `searchsorted`: NumPy's sort is vectorised, its
    argsort (and so `np.unique`'s inverse) is not, ~10x slower; and `np.unique` itself would
    import `numpy.ma` (16-22 ms a process). Either way the rows are the same."""
    rows_of = rows_of or decimal_matrix
    values = np.asarray(values, dtype=np.float32)
    sample = values[::max(len(values) // SAMPLE, 1)]
    if len(sorted_distinct(sample)) * FEW_DISTINCT > len(sample):
        return rows_of(values)
    distinct = sorted_distinct(values)
    if len(distinct) * FEW_DISTINCT > len(values):
        return rows_of(values)
    return rows_of(distinct)[np.searchsorted(distinct, values)]


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def python_rows(rows: np.ndarray, which: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`rows` with rows `which` replaced by NumPy's shortest float32 text of `values`."""
    texts = [np.format_float_positional(np.float32(v), unique=True, trim="-").encode()
             for v in values]
    width = max(rows.shape[1], max(len(t) for t in texts))
    out = np.full((len(rows), width), PAD, dtype=np.uint8)
    out[:, :rows.shape[1]] = rows
    for row, text in zip(which, texts, strict=True):
        out[row] = PAD
        out[row, :len(text)] = np.frombuffer(text, dtype=np.uint8)
    return out


def compact(rows: np.ndarray) -> np.ndarray:
    """The bytes of PAD-filled rows without the padding, row after row. (bytes,) uint8"""
    flat = rows.reshape(-1)
    return flat[flat != PAD]


def texts(rows: np.ndarray) -> list[bytes]:
    """Each row without its padding (for tests and small tables)."""
    return [bytes(r[r != PAD]) for r in rows]


def token_matrix(tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Tokens as PAD-filled rows (V, W) and their lengths (V,)."""
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    width = max(int(lengths.max(initial=1)), 1)
    out = np.full((len(tokens), width), PAD, dtype=np.uint8)
    flat = np.frombuffer(b"".join(tokens), dtype=np.uint8)
    rows = np.repeat(np.arange(len(tokens)), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, cols] = flat
    return out, lengths


def token_blob(tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The tokens as one byte blob (B,) and where each starts (V+1,)."""
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in tokens])
    return np.frombuffer(b"".join(tokens), dtype=np.uint8), offsets

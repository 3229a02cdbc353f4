"""The binary model's integrity: its header's fields checked one by one, and CRC-32 checksums
of the header and of every array (`seqlm.ngram.binary` writes them, `load_binary` checks them).

A binary model is trusted only as far as it is checked. `check_header` refuses, in one line
naming the file and the field, a header whose checksum fails (an edited or flipped header
byte), whose JSON does not parse, or whose fields do not describe a model seqlm wrote: the
order (1 to 8), unit, precision and counts; the exact set of arrays an order-N model has
(`vocab_*`, `keys{k}`, `slots{k}`, `prob{k}`, `backoff{k}`, quantisation centres), each with
the dtype and length its counts imply, 64-byte aligned, in order, inside the file; and the
file's size, which must be the layout's to the byte (a cut or an appended tail). `check_arrays`
compares each array's CRC-32 (zlib's, ~2 GB/s) with the header's: a flipped bit inside the
float tables (a sign, an exponent) is otherwise a plausible wrong perplexity. `check_vocab`
checks what indexing trusts in the vocabulary (offsets rising to the blob's end, ids in range,
UTF-8 text). Leaves out: a cryptographic signature (CRC-32 finds accidents, not forgeries:
a file edited on purpose with its checksums recomputed passes, and then its fields are what
stands between it and a wrong answer).
"""

import json
import zlib

import numpy as np

from seqlm.config.data import UNITS
from seqlm.config.ngram import MAX_ORDER, NGRAM_PRECISIONS
from seqlm.errors import SeqlmError

ALIGN = 64
CODE_DTYPES = {"|u1": 8, "<u2": 16}  # a quantised table's codes, and the most bits each holds


def crc32(data) -> str:
    """The CRC-32 of a buffer as 8 hex digits (fixed width: the header's size never moves)."""
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


def probing_slots(n: int) -> int:
    """The slot count of `seqlm.ngram.probing.ProbingIndex` for n keys (load <= 1/2)."""
    return 1 << max(4, int(np.ceil(np.log2(max(n, 1) * 2))))


class HeaderCheck:
    """Checks of one file's header; every failure is a `SeqlmError` naming file and field."""

    def __init__(self, path, header: dict, file_size: int, header_end: int):
        self.path, self.h, self.file_size, self.header_end = path, header, file_size, header_end

    def fail(self, what: str) -> SeqlmError:
        return SeqlmError(f"{self.path} is a damaged binary model ({what}): build it again with "
                          "`seqlm ngram build --arpa FILE --out model.bin`")

    def field(self, name: str, kind, ok=lambda v: True):
        value = self.h.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or not ok(value):
            raise self.fail(f"header field {name!r} is {value!r:.40}")
        return value

    def expected_arrays(self, order: int, counts: list[int], bits: dict) -> dict:
        """name -> (allowed dtypes, length) of every array an order-`order` model has."""
        V = counts[0]
        out = {"vocab_blob": (("|u1",), None), "vocab_offsets": (("<i8",), V + 1),
               "vocab_keys": (("<i8",), V), "vocab_ids": (("<i4",), V),
               "vocab_slots": (("<i4",), probing_slots(V))}
        for k in range(1, order + 1):
            out[f"keys{k}"] = (("<i8",), counts[k - 1])
            if k > 1:
                out[f"slots{k}"] = (("<i4",), probing_slots(counts[k - 1]))
            for kind in ("prob", "backoff") if k < order else ("prob",):
                q = bits[kind][k - 1]
                if q is None:
                    out[f"{kind}{k}"] = (("<f4",), counts[k - 1])
                    continue
                codes = tuple(d for d, most in CODE_DTYPES.items() if q["bits"] <= most)[:1]
                out[f"{kind}{k}"] = (codes, counts[k - 1])
                out[f"{kind}_centres{k}"] = (("<f4",), q["bins"])
        return out

    def quantization(self, order: int) -> dict:
        q = self.field("quantization", dict)
        for kind, n in (("prob", order), ("backoff", order - 1)):
            tables = q.get(kind)
            if not isinstance(tables, list) or len(tables) != n:
                raise self.fail(f"quantization of {kind} lists {tables!r:.40}")
            for t in tables:
                if t is None:
                    continue
                if not (isinstance(t, dict) and type(t.get("bits")) is int
                        and 2 <= t["bits"] <= 16 and type(t.get("bins")) is int
                        and 1 <= t["bins"] <= 1 << t["bits"]):
                    raise self.fail(f"quantization of {kind} is {t!r:.40}")
        return q

    def arrays(self, expected: dict) -> None:
        specs = self.field("arrays", dict)
        if set(specs) != set(expected):
            odd = sorted(set(specs) ^ set(expected))
            raise self.fail(f"its arrays are not an order-{self.h['order']} model's: {odd[:3]}")
        end = self.header_end
        for name, spec in sorted(specs.items(), key=lambda kv: _offset(kv[1])):
            dtypes, length = expected[name]
            if not (isinstance(spec, dict) and spec.get("dtype") in dtypes
                    and type(spec.get("offset")) is int and type(spec.get("length")) is int
                    and spec["length"] >= 0 and (length is None or spec["length"] == length)
                    and spec["offset"] >= end and spec["offset"] % ALIGN == 0
                    and isinstance(spec.get("crc32"), str) and len(spec["crc32"]) == 8):
                raise self.fail(f"array {name} is described as {spec!r:.60}")
            end = spec["offset"] + np.dtype(spec["dtype"]).itemsize * spec["length"]
        size = -(-end // ALIGN) * ALIGN
        if size != self.file_size:
            cut = "cut short" if self.file_size < size else "longer than its layout"
            raise self.fail(f"{cut}: {self.file_size:,} bytes, its header says {size:,}")

    def run(self) -> dict:
        if self.h.get("format") != "seqlm n-gram binary":
            raise self.fail(f"format is {self.h.get('format')!r:.40}")
        order = self.field("order", int, lambda v: 1 <= v <= MAX_ORDER)
        self.field("unit", str, lambda v: v in UNITS)
        self.field("precision", str, lambda v: v in NGRAM_PRECISIONS)
        self.field("smoothing", str, lambda v: 0 < len(v) <= 40)
        counts = self.field("counts", list, lambda v: len(v) == order and all(
            type(c) is int and c >= 0 for c in v) and v[0] >= 3)
        self.arrays(self.expected_arrays(order, counts, self.quantization(order)))
        return self.h


def _offset(spec) -> int:
    return spec.get("offset", 0) if isinstance(spec, dict) and type(spec.get("offset")) is int \
        else 0


def check_header(path, raw: bytes, stored_crc: str, file_size: int, header_end: int) -> dict:
    """The header's fields, once its checksum and every field are checked."""
    damaged = HeaderCheck(path, {}, file_size, header_end).fail
    if crc32(raw) != stored_crc:
        raise damaged("its header's checksum does not match: the header was edited or damaged")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise damaged("its header is not JSON") from None
    if not isinstance(header, dict):
        raise damaged("its header is not a JSON object")
    return HeaderCheck(path, header, file_size, header_end).run()


def check_arrays(path, header: dict, mapped, names) -> None:
    """Compare the CRC-32 of each named array's bytes with the header's."""
    for name in names:
        s = header["arrays"][name]
        nbytes = np.dtype(s["dtype"]).itemsize * s["length"]
        if crc32(memoryview(mapped)[s["offset"]:s["offset"] + nbytes]) != s["crc32"]:
            raise HeaderCheck(path, header, 0, 0).fail(
                f"array {name} fails its checksum: its bytes changed after it was written")


def check_vocab(path, blob: np.ndarray, offsets: np.ndarray, ids: np.ndarray) -> None:
    """What lookups index with: offsets rising from 0 to the blob's end, ids in range, and the
    blob UTF-8 text (O(V), on every load)."""
    fail = HeaderCheck(path, {}, 0, 0).fail
    V = len(offsets) - 1
    if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
        raise fail("its vocabulary's offsets do not run from 0 to the end of its words")
    if len(ids) and (ids.min() < 0 or ids.max() >= V):
        raise fail("its vocabulary's hash table names ids outside the vocabulary")
    try:
        bytes(blob).decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"its vocabulary is not UTF-8 at byte {e.start}") from None

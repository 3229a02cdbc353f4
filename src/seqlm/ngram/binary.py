"""The binary model: one file, memory-mapped, that loads in milliseconds whatever its size.

Layout (little-endian), every array 64-byte aligned so it maps straight into NumPy:

    b"SEQLMNG\\x02" | header size (uint32) | header CRC-32 (uint32) | header (JSON) | arrays ...

The JSON header names the model (order, unit, smoothing, precision, n-gram counts, discounts)
and every array's offset, dtype, length and CRC-32:

    vocab_blob, vocab_offsets      the tokens as UTF-8, and where each starts (V+1,)
    vocab_keys, vocab_ids, vocab_slots   the vocabulary's hash table (`seqlm.ngram.vocab_hash`)
    keys{k}, slots{k}              order k's sorted n-gram keys and their probing index
    prob{k}, backoff{k}            log10 p and log10 backoff: float32, or quantised codes with
    prob_centres{k}, backoff_centres{k}   the bins' centres (`seqlm.ngram.quantize`)

`load_binary` maps the file (`mmap`) and wraps each array with `np.frombuffer`: no table is
read or copied until a query touches it, so loading costs the header's parse and checks
(`seqlm.ngram.binary_check`: the header's checksum and fields, the file's exact size, the
vocabulary's checksums and offsets). The tables' checksums are checked on load when the file
is at most `VERIFY_BYTES` (64 MiB, ~30 ms), or always with `verify=True` (`--verify`); a
larger file loads in milliseconds unverified. Version 1 files (before checksums) are refused
with the command that rebuilds them. Values are the
ARPA file's (float32 log10); scores equal those of the ARPA model read with
`read_arpa(..., precision="kenlm")`, or move by at most the quantisation bounds the header
states. Leaves out: KenLM's trie layout with bit-packed pointers (this keeps seqlm's sorted
keys plus a hash index, ~12-16 bytes per n-gram before quantisation).
"""

import json
import mmap
import zlib
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram.binary_check import check_arrays, check_header, check_vocab, crc32
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.model import NgramModel
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.quantize import fit_quantizer
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.tables import BackoffTables
from seqlm.ngram.vocab_hash import HashedIds, MappedVocab
from seqlm.progress import Progress, ProgressCallback, report

MAGIC = b"SEQLMNG\x02"
VERSION = 2  # changes with the layout or the vocabulary hash; 2: checksums
VERIFY_BYTES = 64 << 20  # files up to this size have every table's checksum checked on load
VOCAB_ARRAYS = ("vocab_blob", "vocab_offsets", "vocab_keys", "vocab_ids", "vocab_slots")
ALIGN = 64
BLOCK_ROWS = 1 << 20


class Log10Table:
    """A table of log10 values (float32, or quantised codes and their centres), read as nats
    through indexing, like the arrays of an in-memory model."""

    def __init__(self, values: np.ndarray, centres: np.ndarray | None = None):
        self.values, self.centres = values, centres

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index):
        v = self.values[index]
        if self.centres is not None:
            v = self.centres[v]
        if not np.ndim(v):
            return float(v) * LN10
        out = v.astype(np.float64)
        out *= LN10
        return out

    def copy(self) -> np.ndarray:
        return self[:]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)


def log10_blocks(column: Column):
    """A nats column's float32 log10 values, block by block (-inf stays -inf)."""
    def blocks():
        for _, block in column.blocks(BLOCK_ROWS):
            yield (block / LN10).astype(np.float32)
    return blocks


class _Layout:
    """Arrays to write: name -> (dtype, length, producer of blocks)."""

    def __init__(self):
        self.arrays: dict[str, tuple[np.dtype, int, object]] = {}

    def add(self, name: str, dtype, length: int, blocks) -> None:
        self.arrays[name] = (np.dtype(dtype), length, blocks)

    def header(self, meta: dict) -> tuple[bytes, dict]:
        """The header bytes and each array's offset, with the header's own size settled."""
        size = 4096
        while True:
            offset, specs = _aligned(16 + size), {}
            for name, (dtype, length, _) in self.arrays.items():
                specs[name] = {"offset": offset, "dtype": dtype.str, "length": length,
                               "crc32": "0" * 8}  # filled in once the array is written
                offset = _aligned(offset + dtype.itemsize * length)
            text = json.dumps({**meta, "arrays": specs}).encode()
            if len(text) <= size:
                return text.ljust(size), specs
            size = _aligned(len(text) + 1)


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def vocab_arrays(layout: _Layout, tokens: list[str]) -> None:
    encoded = [t.encode("utf-8") for t in tokens]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    hashed = HashedIds.build(tokens)
    for name, array in (("vocab_blob", np.frombuffer(b"".join(encoded), dtype=np.uint8)),
                        ("vocab_offsets", offsets), ("vocab_keys", hashed.sorted_keys),
                        ("vocab_ids", hashed.order), ("vocab_slots", hashed.index.slots)):
        layout.add(name, array.dtype, len(array), lambda a=array: iter([a]))


def table_arrays(layout: _Layout, kind: str, k: int, column: Column, bits: int,
                 exact: tuple[float, ...]) -> dict | None:
    """Add a log10 table (`prob{k}` or `backoff{k}`), quantised to `bits` if > 0 (then with
    `{kind}_centres{k}`); the quantiser's summary."""
    blocks = log10_blocks(column)
    if not bits:
        layout.add(f"{kind}{k}", np.float32, len(column), blocks)
        return None
    q = fit_quantizer(blocks, bits, exact)
    dtype = np.uint8 if bits <= 8 else np.uint16
    layout.add(f"{kind}{k}", dtype, len(column), lambda: (q.codes(b, dtype) for b in blocks()))
    layout.add(f"{kind}_centres{k}", np.float32, len(q.centres), lambda: iter([q.centres]))
    return {"bits": bits, "bins": len(q.centres), "max_error_log10": q.max_error}


def write_binary(t: BackoffTables, path: str | Path, prob_bits: int = 0, backoff_bits: int = 0,
                 ws: Workspace | None = None, progress: ProgressCallback | None = None) -> Path:
    """Write the tables as a binary model (atomically). Each order's keys and probing index
    are held in memory while it is written; the other arrays stream."""
    for bits in (prob_bits, backoff_bits):
        if bits and not 2 <= bits <= 16:
            raise SeqlmError(f"quantisation takes 2 to 16 bits, got {bits}: 8 is KenLM's usual")
    ws = ws or Workspace(MemoryBudget())
    layout, quantized = _Layout(), {"prob": [], "backoff": []}
    vocab_arrays(layout, list(t.vocab.tokens))
    for k in range(1, t.order + 1):
        keys = t.keys[k - 1].array()
        layout.add(f"keys{k}", np.int64, len(keys), lambda a=keys: iter([a]))
        if k > 1:
            slots = ProbingIndex(keys).slots
            layout.add(f"slots{k}", np.int32, len(slots), lambda a=slots: iter([a]))
        quantized["prob"].append(table_arrays(layout, "prob", k, t.logp[k - 1], prob_bits,
                                              (-np.inf,)))
        if k < t.order:
            quantized["backoff"].append(table_arrays(layout, "backoff", k, t.backoff[k - 1],
                                                     backoff_bits, (0.0,)))
    meta = {"format": "seqlm n-gram binary", "version": VERSION, "order": t.order, "unit": t.unit,
            "smoothing": t.smoothing, "precision": t.precision, "counts": t.sizes(),
            "quantization": quantized}
    header, specs = layout.header(meta)

    def write(f) -> None:
        for name, (dtype, length, blocks) in layout.arrays.items():
            report(progress, Progress("write binary", list(specs).index(name), len(specs),
                                      message=name))
            f.seek(specs[name]["offset"])
            written, crc = 0, 0
            for block in blocks():
                data = np.ascontiguousarray(block, dtype=dtype).tobytes()
                f.write(data)
                crc = zlib.crc32(data, crc)
                written += len(block)
            if written != length:
                raise RuntimeError(f"binary array {name}: wrote {written} of {length} rows")
            specs[name]["crc32"] = f"{crc & 0xFFFFFFFF:08x}"
        f.truncate(_aligned(f.tell()))
        text = json.dumps({**meta, "arrays": specs}).encode().ljust(len(header))
        if len(text) != len(header):  # the checksums are fixed-width: the layout stands
            raise RuntimeError(f"binary header grew from {len(header)} to {len(text)} bytes")
        f.seek(0)
        f.write(MAGIC + np.uint32(len(text)).tobytes()
                + np.uint32(int(crc32(text), 16)).tobytes() + text)

    return atomic_write(path, write)


def read_header(path: Path, mapped: mmap.mmap) -> dict:
    """The checked header (`seqlm.ngram.binary_check`); a file that is not a version-2 seqlm
    binary model is refused in one line naming what to do."""
    if mapped[:7] != MAGIC[:7]:
        raise SeqlmError(f"{path} is not a seqlm binary model (it does not start with "
                         f"{MAGIC[:7].decode()}): build one with `seqlm ngram build --arpa FILE "
                         "--out model.bin`")
    if mapped[7:8] != MAGIC[7:8]:
        raise SeqlmError(f"{path} is a version {mapped[7]} seqlm binary model; this seqlm reads "
                         f"version {VERSION} (with checksums): rebuild it with `seqlm ngram "
                         "build --arpa FILE --out model.bin` from its ARPA file")
    if len(mapped) < 16:
        raise SeqlmError(f"{path} is a damaged binary model (cut short: {len(mapped)} bytes): "
                         "build it again with `seqlm ngram build --arpa FILE --out model.bin`")
    size, stored = (int(v) for v in np.frombuffer(mapped, dtype="<u4", count=2, offset=8))
    if 16 + size > len(mapped):
        raise SeqlmError(f"{path} is a damaged binary model (cut short: its header needs "
                         f"{16 + size:,} bytes, the file has {len(mapped):,}): build it again "
                         "with `seqlm ngram build --arpa FILE --out model.bin`")
    return check_header(path, bytes(mapped[16:16 + size]), f"{stored:08x}", len(mapped),
                        16 + size)


def load_binary(path: str | Path, verify: bool | None = None) -> NgramModel:
    """Map a binary model; nothing but the header and the vocabulary is read until it is
    queried. `verify`: check every table's checksum (None: when the file is at most
    `VERIFY_BYTES`)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise SeqlmError(f"binary model {path} does not exist: build one with `seqlm ngram "
                         "build --arpa FILE --out model.bin`") from None
    except (ValueError, OSError) as e:
        raise SeqlmError(f"cannot map {path} ({e}): give a seqlm binary model") from None
    h = read_header(path, mapped)
    verify = len(mapped) <= VERIFY_BYTES if verify is None else verify
    check_arrays(path, h, mapped, h["arrays"] if verify else VOCAB_ARRAYS)

    def array(name: str) -> np.ndarray:
        s = h["arrays"][name]
        return np.frombuffer(mapped, dtype=s["dtype"], count=s["length"], offset=s["offset"])

    def table(kind: str, k: int) -> Log10Table:
        centres = f"{kind}_centres{k}"
        codes = array(f"{kind}{k}")
        if centres not in h["arrays"]:
            return Log10Table(codes)
        if verify and len(codes) and int(codes.max()) >= h["arrays"][centres]["length"]:
            raise SeqlmError(f"{path} is a damaged binary model ({kind}{k} names a bin past its "
                             f"centres): build it again with `seqlm ngram build`")
        return Log10Table(codes, array(centres))

    vocab_keys = array("vocab_keys")
    check_vocab(path, array("vocab_blob"), array("vocab_offsets"), array("vocab_ids"))
    vocab = MappedVocab(array("vocab_blob"), array("vocab_offsets"),
                        HashedIds(vocab_keys, array("vocab_ids"),
                                  ProbingIndex(vocab_keys, array("vocab_slots"))))
    order = h["order"]
    keys = [array(f"keys{k}") for k in range(1, order + 1)]
    return NgramModel(
        vocab=vocab, unit=h["unit"], order=order, smoothing=h["smoothing"], form="backoff",
        keys=keys, logp=[table("prob", k) for k in range(1, order + 1)],
        backoff=[table("backoff", k) for k in range(1, order)],
        info={"counts": h["counts"], "source": str(path), "quantization": h["quantization"],
              "verified": verify},
        precision=h["precision"], reopen=(load_binary, (str(path), False)),
        indexes={k: ProbingIndex(keys[k - 1], array(f"slots{k}")) for k in range(2, order + 1)})

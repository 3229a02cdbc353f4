"""The binary model: one file, memory-mapped, that loads in milliseconds whatever its size.

Layout (little-endian), every array 64-byte aligned so it maps straight into NumPy:

    b"SEQLMNG\\x01" | header size (uint64) | header (JSON) | arrays ...

The JSON header names the model (order, unit, smoothing, precision, n-gram counts, discounts)
and every array's offset, dtype and length:

    vocab_blob, vocab_offsets      the tokens as UTF-8, and where each starts (V+1,)
    vocab_keys, vocab_ids, vocab_slots   the vocabulary's hash table (`seqlm.ngram.vocab_hash`)
    keys{k}, slots{k}              order k's sorted n-gram keys and their probing index
    prob{k}, backoff{k}            log10 p and log10 backoff: float32, or quantised codes with
    prob_centres{k}, backoff_centres{k}   the bins' centres (`seqlm.ngram.quantize`)

`load_binary` maps the file (`mmap`) and wraps each array with `np.frombuffer`: no array is
read or copied until a query touches it, so loading costs the header's parse. Values are the
ARPA file's (float32 log10); scores equal those of the ARPA model read with
`read_arpa(..., precision="kenlm")`, or move by at most the quantisation bounds the header
states. Leaves out: KenLM's trie layout with bit-packed pointers (this keeps seqlm's sorted
keys plus a hash index, ~12-16 bytes per n-gram before quantisation).
"""

import json
import mmap
from pathlib import Path

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.errors import SeqlmError
from seqlm.metrics import LN10
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.model import NgramModel
from seqlm.ngram.probing import ProbingIndex
from seqlm.ngram.quantize import fit_quantizer
from seqlm.ngram.spill import Column, Workspace
from seqlm.ngram.tables import BackoffTables
from seqlm.ngram.vocab_hash import HashedIds, MappedVocab
from seqlm.progress import Progress, ProgressCallback, report

MAGIC = b"SEQLMNG\x01"
VERSION = 1  # changes with the layout or the vocabulary hash
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
                specs[name] = {"offset": offset, "dtype": dtype.str, "length": length}
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
        f.write(MAGIC + np.uint64(len(header)).tobytes() + header)
        for name, (dtype, length, blocks) in layout.arrays.items():
            report(progress, Progress("write binary", list(specs).index(name), len(specs),
                                      message=name))
            f.seek(specs[name]["offset"])
            written = 0
            for block in blocks():
                f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
                written += len(block)
            if written != length:
                raise RuntimeError(f"binary array {name}: wrote {written} of {length} rows")
        f.truncate(_aligned(f.tell()))

    return atomic_write(path, write)


def read_header(path: Path, mapped: mmap.mmap) -> dict:
    if mapped[:8] != MAGIC:
        raise SeqlmError(f"{path} is not a seqlm binary model (it does not start with "
                         f"{MAGIC[:7].decode()}): build one with `seqlm ngram build --arpa FILE "
                         "--out model.bin`")
    size = int(np.frombuffer(mapped, dtype="<u8", count=1, offset=8)[0])
    header = json.loads(bytes(mapped[16:16 + size]))
    if header.get("version") != VERSION:
        raise SeqlmError(f"{path} is a version {header.get('version')} binary model; this seqlm "
                         f"reads version {VERSION}: build it again from its ARPA file")
    end = max((s["offset"] + np.dtype(s["dtype"]).itemsize * s["length"]
               for s in header["arrays"].values()), default=0)
    if end > len(mapped):
        raise SeqlmError(f"{path} is cut short ({len(mapped)} of {end} bytes): build it again")
    return header


def load_binary(path: str | Path) -> NgramModel:
    """Map a binary model; nothing but the header is read until it is queried."""
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

    def array(name: str) -> np.ndarray:
        s = h["arrays"][name]
        return np.frombuffer(mapped, dtype=s["dtype"], count=s["length"], offset=s["offset"])

    def table(kind: str, k: int) -> Log10Table:
        centres = f"{kind}_centres{k}"
        return Log10Table(array(f"{kind}{k}"), array(centres) if centres in h["arrays"] else None)

    vocab_keys = array("vocab_keys")
    vocab = MappedVocab(array("vocab_blob"), array("vocab_offsets"),
                        HashedIds(vocab_keys, array("vocab_ids"),
                                  ProbingIndex(vocab_keys, array("vocab_slots"))))
    order = h["order"]
    keys = [array(f"keys{k}") for k in range(1, order + 1)]
    return NgramModel(
        vocab=vocab, unit=h["unit"], order=order, smoothing=h["smoothing"], form="backoff",
        keys=keys, logp=[table("prob", k) for k in range(1, order + 1)],
        backoff=[table("backoff", k) for k in range(1, order)],
        info={"counts": h["counts"], "source": str(path), "quantization": h["quantization"]},
        precision=h["precision"],
        indexes={k: ProbingIndex(keys[k - 1], array(f"slots{k}")) for k in range(2, order + 1)})

"""Running seqlm's ONNX files with onnxruntime: `seqlm sample --runtime onnx`.

`load_onnx(path)` takes an ONNX file `seqlm export --format onnx` wrote (everything it needs
is in the file's metadata: `seqlm.export.onnx`), or a run directory / exported folder, whose
model it exports in memory first. It returns what `seqlm.checkpoint.load` returns for
sampling (kind, config, vocab, model), with `model` an `OnnxLM`: the `start` / `step`
interface of `seqlm.decoding.steppings`, so `seqlm.decoding.sampling.generate` draws from it
with the one sampling rule (temperature, top-k, top-p, repetition penalty) on its NumPy
logits, and the same seed gives the same draws as the torch runtime. The prime is read one
step at a time (the graph is the step); the continuation is drawn ONNX_CHUNK tokens per call
by the generation loop built from the step for the rule (`seqlm.export.onnx_loop`: the rule
in graph ops, the same uniforms from the same generator), or one step per token where the
`onnx` package that builds it is missing. `OnnxSeq2Seq` runs the encoder and decoder-step
files (greedy translation: `seqlm.export.onnx_translate`). Sessions run on ONNX_THREADS
intra-op threads: on this 2-core machine two threads sampled 14% faster idle (an earlier
graph) but spin-waited to half the speed of one under load (docs/export.md). Leaves out:
beam search (torch only), GPU execution providers, IO binding (measured: onnxruntime 1.32's
`run_with_iobinding` with preallocated outputs cost more per call than `run` here).
"""

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqlm.config import (
    ONNX_CHUNK,
    ONNX_THREADS,
    ONNX_UNROLL,
    Seq2SeqConfig,
    TrainConfig,
    from_dict,
)
from seqlm.decoding.sampling import SamplingRule
from seqlm.errors import SeqlmError
from seqlm.export.onnx import MEMORY, META_KEY, ONNX_FORMAT, ONNX_VERSION, require


@dataclass
class OnnxLoaded:
    """An ONNX model ready to sample: the fields of `seqlm.checkpoint.Loaded` sampling reads."""

    kind: str
    config: Any  # TrainConfig | Seq2SeqConfig
    vocab: Any  # Vocab | PairVocabs
    model: Any  # OnnxLM | OnnxSeq2Seq
    path: Path


def session(source: str | bytes, threads: int = ONNX_THREADS):
    """An onnxruntime session on a file path or the bytes of a model, CPU, `threads`
    intra-op threads (ONNX_THREADS: why in docs/export.md)."""
    require("onnxruntime")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own error types
        where = source if isinstance(source, str) else "the exported model"
        first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise SeqlmError(f"{where} is not an ONNX model onnxruntime can read ({first}): "
                         "give a file `seqlm export --format onnx` wrote") from None


def metadata(sess, where: str) -> dict[str, Any]:
    """The graph's seqlm metadata, checked to be seqlm's and of a version this seqlm reads."""
    raw = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    try:
        meta = json.loads(raw) if raw else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != ONNX_FORMAT:
        raise SeqlmError(f"{where} is not an ONNX file `seqlm export --format onnx` wrote "
                         "(no seqlm metadata): export the run with it")
    if not isinstance(meta.get("version"), int) or meta["version"] > ONNX_VERSION:
        raise SeqlmError(f"{where} has seqlm ONNX version {meta.get('version')!r}, this "
                         f"seqlm reads {ONNX_VERSION} and older: upgrade seqlm")
    return meta


class OnnxLM:
    """An LM's step graph behind `start(prime_ids)` / `step(token, state)`, batch 1;
    logits (V,) float64 as the sampling rule takes them, the state a tuple of arrays.
    Given the step graph's `source` (the file's bytes) and the `onnx` package, `sample`
    draws whole chunks through the generation loop (`seqlm.export.onnx_loop`), one graph
    built per sampling rule and kept with the model."""

    def __init__(self, sess, meta: dict[str, Any], source: bytes | None = None,
                 threads: int = ONNX_THREADS, chunk: int = ONNX_CHUNK,
                 unroll: int = ONNX_UNROLL):
        self.session, self.meta, self.source, self.threads = sess, meta, source, threads
        self.chunk, self.unroll = chunk, unroll
        self.inputs, self.outputs = meta["inputs"], meta["outputs"]
        self.shapes = [tuple(1 if d == "batch" else d for d in s["shape"])
                       for s in meta["state"]]
        self.token = np.zeros(1, dtype=np.int64)
        self.samples_in_graph = source is not None and importlib.util.find_spec("onnx") \
            is not None
        self.loops: dict[SamplingRule, Any] = {}  # rule -> its generation session

    def zeros(self, batch: int = 1) -> tuple[np.ndarray, ...]:
        return tuple(np.zeros((s[0], batch, *s[2:]), dtype=np.float32) for s in self.shapes)

    def run(self, tokens: np.ndarray, state: tuple[np.ndarray, ...]
            ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """tokens (B,) int64, state ((L, B, H), ...) -> logits (B, V), state: the graph."""
        logits, *state = self.session.run(self.outputs, dict(zip(
            self.inputs, (tokens, *state), strict=True)))
        return logits, tuple(state)

    def step(self, token: int, state) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        self.token[0] = token
        logits, state = self.run(self.token, state)
        return logits[0].astype(np.float64), state

    def start(self, prime_ids: list[int]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        state = self.zeros()
        for token in prime_ids:
            logits, state = self.step(token, state)
        return logits, state

    def loop(self, rule: SamplingRule):
        """The generation session of `rule`, built on first use."""
        if rule not in self.loops:
            from seqlm.export.onnx_loop import generation_bytes

            vocab = int(self.session.get_outputs()[0].shape[1])
            self.loops[rule] = session(generation_bytes(
                self.source, rule, self.inputs[1:], vocab, self.unroll), self.threads)
        return self.loops[rule]

    def sample(self, prime_ids: list[int], length: int, rule: SamplingRule,
               rng: np.random.Generator) -> list[int]:
        """`length` token ids after the prime, drawn in the graph `chunk` at a time: those
        `seqlm.decoding.sampling.sample_steps` draws through `step` from the same
        generator (one uniform per token, none for temperature 0, in the same order)."""
        loop = self.loop(rule)
        logits, state = self.start(prime_ids)
        names = [i.name for i in loop.get_inputs() if i.name != "uniforms"]
        feeds = dict(zip(names, (logits[None].astype(np.float32), *state), strict=False))
        if "seen" in names:
            feeds["seen"] = np.isin(np.arange(feeds["logits"].shape[1]), prime_ids)
        out: list[int] = []
        chunk = -(-self.chunk // self.unroll) * self.unroll  # whole Loop iterations
        while len(out) < length:  # a last chunk rounded up draws uniforms no token uses
            k = -(-min(chunk, length - len(out)) // self.unroll) * self.unroll
            feeds["uniforms"] = rng.random(k) if rule.temperature != 0 else np.zeros(k)
            *carried, tokens = loop.run(None, feeds)
            feeds.update(zip(names, carried, strict=True))
            out.extend(tokens[:, 0].tolist())
        return out[:length]


class OnnxSeq2Seq:
    """The encoder and decoder-step graphs: `encode(source (B, S'), lengths (B,))` pads to
    the graph's S and returns (memory, state); `step(previous (B,), state, memory)` ->
    (logits (B, V), state, attention (B, S) | None)."""

    def __init__(self, encoder, decoder, meta: dict[str, Any]):
        self.encoder, self.decoder = encoder, decoder
        self.source_length = meta["source_length"]
        self.states = len(meta["state"])
        self.decoder_inputs = ["previous", *(s["name"] for s in meta["state"]), *MEMORY]
        self.used = {i.name for i in decoder.get_inputs()}  # an input a decoder never reads
        self.decoder_outputs = [o.name for o in decoder.get_outputs()]  # is not in its graph

    def encode(self, source: np.ndarray, lengths: np.ndarray):
        if source.shape[1] > self.source_length:
            raise SeqlmError(f"a source of {source.shape[1]} tokens is longer than the ONNX "
                             f"encoder's {self.source_length}: export again with "
                             "--source-length N")
        padded = np.zeros((source.shape[0], self.source_length), dtype=np.int64)  # PAD_ID 0
        padded[:, : source.shape[1]] = source
        out = self.encoder.run(None, {"source": padded, "lengths": lengths.astype(np.int64)})
        return tuple(out[:4]), tuple(out[4:])

    def step(self, previous: np.ndarray, state, memory):
        feeds = dict(zip(self.decoder_inputs, (previous.astype(np.int64), *state, *memory),
                         strict=True))
        out = self.decoder.run(self.decoder_outputs,
                               {k: v for k, v in feeds.items() if k in self.used})
        logits, state = out[0], tuple(out[1 : 1 + self.states])
        return logits, state, (out[-1] if len(out) > 1 + self.states else None)


def rebuild(meta: dict[str, Any], where: str) -> tuple[Any, Any]:
    """The config and vocabulary the metadata records."""
    from seqlm.data.pairs import PairVocabs
    from seqlm.data.vocab import Vocab

    config = from_dict(TrainConfig if meta["kind"] == "lm" else Seq2SeqConfig,
                       meta["config"], source=where)
    vocab = (Vocab if meta["kind"] == "lm" else PairVocabs).from_dict(meta["vocab"])
    return config, vocab


def open_file(path: Path) -> OnnxLoaded:
    """An ONNX file seqlm wrote (a seq2seq encoder finds its decoder beside it)."""
    sess = session(str(path))
    meta = metadata(sess, str(path))
    config, vocab = rebuild(meta, str(path))
    if meta["kind"] == "lm":
        return OnnxLoaded("lm", config, vocab, OnnxLM(sess, meta, path.read_bytes()),
                          path)
    decoder = path.with_name(meta.get("decoder") or "")
    if meta.get("graph") != "encoder" or not decoder.is_file():
        raise SeqlmError(f"{path} is a seq2seq {meta.get('graph')} graph: give the encoder "
                         "file, with its .decoder.onnx beside it")
    return OnnxLoaded("seq2seq", config, vocab, OnnxSeq2Seq(sess, session(str(decoder)),
                                                            meta), path)


def load_onnx(path: str | Path, kind: str | None = None) -> OnnxLoaded:
    """An ONNX file, or a run directory / exported folder exported to ONNX in memory."""
    path = Path(path)
    require("onnxruntime")
    if path.is_file() and path.suffix != ".pt":
        loaded = open_file(path)
    else:
        from seqlm.checkpoint import load
        from seqlm.export.onnx import lm_bytes

        model = load(path, "cpu", kind=kind)
        if model.kind != "lm":
            raise SeqlmError(f"{path}: --runtime onnx samples language models; export a "
                             "seq2seq model with `seqlm export --format onnx`")
        data = lm_bytes(model)
        sess = session(data)
        meta = metadata(sess, str(path))
        loaded = OnnxLoaded("lm", model.config, model.vocab, OnnxLM(sess, meta, data), path)
    if kind is not None and loaded.kind != kind:
        raise SeqlmError(f"{path} holds a {loaded.kind} model, not a {kind} model")
    return loaded

"""Greedy translation through the exported seq2seq graphs: `seqlm seq2seq translate --runtime
onnx`.

The encoder file and its decoder step (`seqlm.export.onnx`), run by onnxruntime
(`seqlm.export.onnx_runtime.OnnxSeq2Seq`), decoded by the search of
`seqlm.decoding.seq2seq.greedy` in NumPy: a batch of padded sources at once, each step the
arg-max of the log-softmax (float32, as torch's) with `<pad>`, `<unk>` and `<s>` ruled out;
rows that ended keep stepping and each is cut at its first `</s>` (`cut`). So the outputs
are torch's and the log-probabilities agree to ~1e-6 (tests/export/test_onnx_translate.py).
A run directory or exported folder is exported in memory first, its encoder unrolled over
the longest source given. Leaves out: beam search (torch only).
"""

from pathlib import Path

import numpy as np

from seqlm.config import Seq2SeqDecodeConfig
from seqlm.data.batching import pad_sequences
from seqlm.data.pairs import encode_sources
from seqlm.data.vocab import BOS_ID, EOS_ID
from seqlm.decoding.beam import Hypothesis
from seqlm.decoding.sampling import NEVER
from seqlm.decoding.seq2seq import Translation, cut
from seqlm.errors import SeqlmError
from seqlm.export.onnx_runtime import OnnxLoaded, OnnxSeq2Seq, load_onnx, metadata, session


def log_probs(logits: np.ndarray) -> np.ndarray:
    """float32 log-softmax (B, V) with the tokens no output holds ruled out."""
    logits = logits.astype(np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    logp[:, list(NEVER)] = -np.inf
    return logp


def greedy(model: OnnxSeq2Seq, src: np.ndarray, lengths: np.ndarray,
           max_len: int) -> list[Hypothesis]:
    """Arg-max decoding of a padded batch: src (B, S'), lengths (B,) -> one hypothesis per
    row, as `seqlm.decoding.seq2seq.greedy` on the torch model."""
    memory, state = model.encode(src, lengths)
    prev = np.full(src.shape[0], BOS_ID, dtype=np.int64)
    done = np.zeros(src.shape[0], dtype=bool)
    steps = []  # per step: tokens (B,), logprobs (B,), weights (B, S) or None
    for _ in range(max_len):
        logits, state, weights = model.step(prev, state, memory)
        logp = log_probs(logits)
        prev = logp.argmax(axis=-1)
        steps.append((prev, logp[np.arange(len(prev)), prev], weights))
        done |= prev == EOS_ID
        if done.all():
            break
    out = []
    for b in range(src.shape[0]):
        n = int(lengths[b])
        w = None if steps[0][2] is None else [s[2][b, :n] for s in steps]
        out.append(cut([int(s[0][b]) for s in steps], [float(s[1][b]) for s in steps], w))
    return out


def open_seq2seq(path: str | Path, longest: int) -> OnnxLoaded:
    """The encoder ONNX file at `path`, or a run directory / exported folder exported in
    memory with its encoder unrolled over `longest` positions."""
    path = Path(path)
    if path.is_file() and path.suffix != ".pt":
        return load_onnx(path, kind="seq2seq")
    from seqlm.checkpoint import load
    from seqlm.export.onnx import seq2seq_bytes

    loaded = load(path, "cpu", kind="seq2seq")
    encoder, decoder = seq2seq_bytes(loaded, longest, "decoder (in memory)")
    enc, dec = session(encoder), session(decoder)
    model = OnnxSeq2Seq(enc, dec, metadata(enc, str(path)))
    return OnnxLoaded("seq2seq", loaded.config, loaded.vocab, model, path)


def translate(path: str | Path, sources: list[str],
              config: Seq2SeqDecodeConfig | None = None) -> list[Translation]:
    """Greedy translations of `sources` through ONNX (a file `seqlm export` wrote, or a run)."""
    config = config or Seq2SeqDecodeConfig()
    if config.beam_width != 1:
        raise SeqlmError("beam search runs on the torch runtime only: drop --beam-width or "
                         "--runtime onnx")
    longest = max((len(s) for s in sources), default=1)
    loaded = open_seq2seq(path, longest)
    model_config, vocabs = loaded.config.model, loaded.vocab
    ids = encode_sources(vocabs.source, sources, model_config.max_source_len)
    hyps: list[Hypothesis | None] = [None] * len(sources)
    order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths pad little
    for start in range(0, len(order), config.batch_size):
        rows = order[start : start + config.batch_size]
        batch = pad_sequences([ids[r] for r in rows])
        found = greedy(loaded.model, batch.ids.astype(np.int64), batch.lengths,
                       model_config.max_target_len)
        for r, h in zip(rows, found, strict=True):
            hyps[r] = h
    return [Translation(s, "".join(vocabs.target.decode(h.tokens)), h.logprob_nats, h.weights,
                        h.finished) for s, h in zip(sources, hyps, strict=True)]

"""The compiled training encoder against the NumPy one: the same ids and vocabulary for word,
char and byte units, piece by piece, when it takes over mid-read, past table growth; and
`read_stream` switches to it where the engine says so (a test sees which ran)."""

import numpy as np
import pytest

from seqlm.ngram import reading
from seqlm.ngram.budget import MemoryBudget
from seqlm.ngram.reading import TrainingEncoder, read_stream
from seqlm.ngram.spill import Workspace

pytest.importorskip("numba")
from seqlm.ngram.compiled_reading import CompiledEncoder  # noqa: E402

TEXT = ("the <s> cat </s> sat\t on\r <unk> mat\n\n  naïve café ü \nabcdefghijklmnopqrstuvwxyz0123 x"
        "\n\t\n") * 3 + "a last line without a newline"


def pieces_of(text: str, cuts: int) -> list[str]:
    at = sorted({text.rfind("\n", 0, len(text) * (i + 1) // cuts) + 1 for i in range(cuts)})
    return [text[a:b] for a, b in zip([0, *at], [*at, len(text)], strict=True) if b > a]


@pytest.mark.parametrize("unit", ["word", "char", "byte"])
@pytest.mark.parametrize("take_over", [0, 1, 3])
def test_the_compiled_encoder_gives_the_numpy_ids(unit, take_over):
    rng = np.random.default_rng(0)  # 3,000 distinct words: the table grows from 1,024 slots
    words = [f"w{i}é" for i in rng.permutation(3000)]
    text = TEXT + "\n" + "".join(" ".join(words[i:i + 7]) + "\n" for i in range(0, 3000, 7))
    pieces = pieces_of(text, 6)
    numpy_enc, ours = TrainingEncoder(unit), TrainingEncoder(unit)
    for i, piece in enumerate(pieces):
        if i == take_over:
            ours = CompiledEncoder(ours)
        expected, got = numpy_enc.encode(piece), ours.encode(piece)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert ours.tokens == numpy_enc.tokens
    assert ours.vocab().tokens == numpy_enc.vocab().tokens


def test_an_empty_piece_and_blank_lines():
    for piece in ("", "\n", "\n\n", " \t\r\n", "<s> </s>\n"):
        assert np.array_equal(CompiledEncoder(TrainingEncoder("word")).encode(piece),
                              TrainingEncoder("word").encode(piece))


@pytest.mark.parametrize("engine, min_tokens, compiled_pieces", [
    ("numpy", 0, 0), ("numba", 10**9, 5), ("auto", 10**9, 0), ("auto", 1, 4)])
def test_read_stream_goes_compiled_where_the_engine_says(monkeypatch, engine, min_tokens,
                                                         compiled_pieces):
    text = "".join(f"w{i % 101} w{i % 13} x{i % 7}\n" for i in range(2000))
    monkeypatch.setattr(reading, "PIECE_CHARS", len(text) // 5 + 1)  # 5 pieces
    ran = []
    encode = CompiledEncoder.encode
    monkeypatch.setattr(CompiledEncoder, "encode", lambda self, p: ran.append(1) or encode(self, p))
    with Workspace(MemoryBudget.of(None)) as ws:
        expected, vocab = read_stream(text, "word", ws)
        got, ours = read_stream(text, "word", ws, engine=engine, min_tokens=min_tokens)
        assert np.array_equal(got.ids.array(), expected.ids.array())
        assert got.bounds == expected.bounds and got.lines == expected.lines
    assert ours.tokens == vocab.tokens
    assert len(ran) == compiled_pieces  # auto: the first piece on NumPy, then compiled

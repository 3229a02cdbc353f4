"""Scoring a large text in several processes: `model.perplexity(text, workers=N)`.

The text is cut into the pieces of whole lines that one process scores in turn
(`NgramModel.PIECE_CHARS`, 4M characters); the pieces are dealt to `workers` processes in
contiguous groups, each process gets the model once with its group, and the per-piece totals
come back in order and are added in that order, so the report equals one process's to the
last bit (`tests/ngram/test_ngram_engines.py`). A model mapped from a binary file pickles as
its path (`NgramModel.reopen`: a worker maps it again in milliseconds, KenLM issue #365's
complaint); an in-memory model pickles its arrays once per worker. A text of one piece is
scored in this process. Leaves out: threads (NumPy releases the GIL only in parts) and
splitting a piece.
"""

import multiprocessing

import numpy as np


def score_group(model, pieces: list[str]) -> list[np.ndarray]:
    return [model.piece_totals(piece) for piece in pieces]


def totals_in_workers(model, pieces: list[str], workers: int) -> list[np.ndarray]:
    """Each piece's totals (5,), in order, scored by `workers` processes."""
    workers = max(1, min(workers, len(pieces)))
    bounds = np.linspace(0, len(pieces), workers + 1).astype(int)
    groups = [pieces[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with multiprocessing.get_context().Pool(workers) as pool:  # the platform's default
        results = pool.starmap(score_group, [(model, group) for group in groups])
    return [row for group in results for row in group]

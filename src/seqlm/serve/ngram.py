"""An n-gram model behind `seqlm serve`: the next-token distribution after a context, and
which order answered.

The model is seqlm's own `NgramModel`, read from an ARPA file or a binary model exactly as
`seqlm ngram eval --arpa|--binary` reads it. For each of the most probable next tokens the
answer names the order of the n-gram that gave its probability (kenlm's `full_scores`
`ngram_length`): 3 means the last two context tokens and the token were seen together; 1 a
unigram after backing off. `longest` is the longest order the context allows (its held
context plus one). Leaves out: sampling sentences (`seqlm ngram sample` does that).
"""

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.model import NgramModel
from seqlm.ngram.stream import encode_tokens, split_line
from seqlm.serve.limits import RequestError


class ServedNgram:
    family = "ngram"
    endpoints = ("next",)

    def __init__(self, name: str, model: NgramModel):
        self.name, self.model = name, model

    def describe(self) -> dict:
        return {"id": self.name, "family": self.family, "endpoints": list(self.endpoints),
                "unit": self.model.unit, "order": self.model.order,
                "smoothing": self.model.smoothing, "counts": self.model.sizes()}

    def next(self, context: str, start: bool, k: int) -> dict:
        """The k most probable next tokens after `context` (after `<s>` where `start`)."""
        try:
            tokens = ["<s>"] * start + split_line(context, self.model.unit)
        except SeqlmError as e:
            raise RequestError(400, str(e)) from None
        top = self.model.top_k(tokens, k)
        _, held = self.model.context_chain(tokens)
        return {"context": tokens, "longest": held + 1,
                "next": [{"token": t, "p": p, "order": self.order(tokens, t)} for t, p in top]}

    def order(self, context: list[str], token: str) -> int:
        """The order of the n-gram that answered p(token | context)."""
        ids, oov = encode_tokens([*context, token], self.model.vocab)
        _, matched = self.model.score_positions(ids, oov, np.array([len(ids) - 1]))
        return int(matched[0])

    def warm_up(self, tokens: int) -> None:
        self.next("", True, 5)

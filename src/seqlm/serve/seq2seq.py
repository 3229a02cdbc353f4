"""A seq2seq model behind `seqlm serve`: a source (a date, for the dates task) in, the output
(the ISO date) and its attention matrix out.

Decoding is `seqlm.decoding.seq2seq.translate` (greedy, or the one beam search), the code of
`seqlm seq2seq translate`. The attention matrix has one row per output token and the final
`</s>` (the weights over the source characters when it was produced); a model without
attention returns none. Leaves out: n-best lists, several sources per request.
"""

from seqlm.checkpoint import Loaded
from seqlm.config import Seq2SeqDecodeConfig
from seqlm.decoding.seq2seq import translate
from seqlm.errors import SeqlmError
from seqlm.serve.limits import RequestError


class ServedTranslator:
    family = "seq2seq"
    endpoints = ("translate",)

    def __init__(self, name: str, loaded: Loaded):
        self.name, self.loaded = name, loaded
        self.model, self.vocabs = loaded.model, loaded.vocab

    def describe(self) -> dict:
        m = self.loaded.config.model
        return {"id": self.name, "family": self.family, "endpoints": list(self.endpoints),
                "cell": m.cell, "attention": m.attention, "hidden": m.hidden_size,
                "max_source_len": m.max_source_len}

    def translate(self, source: str, beam_width: int) -> dict:
        try:
            found = translate(self.model, self.vocabs, [source],
                              Seq2SeqDecodeConfig(beam_width=beam_width))[0]
        except SeqlmError as e:  # empty or longer than the model reads
            raise RequestError(400, str(e)) from None
        rows = list(found.output) + (["</s>"] if found.finished else [])
        weights = None if found.weights is None else \
            [[float(w) for w in row] for row in found.weights]
        return {"source": source, "output": found.output, "finished": found.finished,
                "logprob_nats": found.logprob_nats, "source_tokens": list(source),
                "output_tokens": rows, "attention": weights}

    def warm_up(self, tokens: int) -> None:
        self.translate("July 19 1980", 1)
        self.translate("9/17/76", 2)

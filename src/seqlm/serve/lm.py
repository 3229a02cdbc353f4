"""A recurrent language model behind `seqlm serve`: stream a sample, score a text, read a
unit's activations.

Sampling is seqlm's own loop (`seqlm.decoding.sampling.sample_steps`, the rule of
`seqlm sample`: temperature, top-k, top-p, repetition penalty) or its beam search
(`lm_beam_search`), one token at a time. Each token comes with the model's own probability
of it and its `alternatives` most probable tokens, both from the softmax of the raw logits
(temperature 1, before top-k / top-p: what the model believes, not what the rule allowed).
Beam search finds the whole continuation first, then reads it back through the model for
those numbers. Scores are in nats: the text's totals from `evaluate_stream` (what
`seqlm eval --text-file` reports) and every token's -log p from one forward pass. Each
generation builds its own stepping, so concurrent requests share only the weights.
Leaves out: batching requests together, stopping at an end-of-line token.
"""

from collections.abc import Iterator
from itertools import islice
from os.path import commonprefix

import numpy as np
import torch

from seqlm.checkpoint import Loaded
from seqlm.data.lm_data import encode_text
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import EOS, EOS_ID
from seqlm.decoding.lm_text import encode_prime, join_prime
from seqlm.decoding.sampling import NEVER, SamplingRule, sample_steps, softmax
from seqlm.decoding.steppings import stepping_of
from seqlm.decoding.steppings_torch import lm_beam_search
from seqlm.errors import SeqlmError
from seqlm.serve.limits import RequestError, SampleRequest
from seqlm.training.evaluate import evaluate_stream

TAIL = 8  # tokens read back to find a new token's text


class ServedLM:
    family = "lm"
    endpoints = ("sample", "score", "activations")

    def __init__(self, name: str, loaded: Loaded):
        self.name, self.loaded = name, loaded
        self.model, self.vocab = loaded.model, loaded.vocab
        self.unit = loaded.config.model.unit
        self.tokenizer = get_tokenizer(self.unit)
        # </s> is a token of word models only; elsewhere it may never come out
        self.banned = NEVER if self.tokenizer.line_end == EOS else (*NEVER, EOS_ID)
        rnn = self.model.rnn
        self.readable = hasattr(rnn, "direction_weights") and hasattr(rnn, "kind")

    def describe(self) -> dict:
        m = self.loaded.config.model
        return {"id": self.name, "family": self.family, "endpoints": list(self.endpoints),
                "unit": self.unit, "cell": m.cell, "layers": m.num_layers,
                "hidden": m.hidden_size, "vocab": len(self.vocab),
                "activations": self.readable}

    def token_text(self, ids: list[int]) -> str:
        return self.tokenizer.detokenize(self.vocab.decode(ids))

    def entry(self, token: int, logits: np.ndarray, k: int) -> dict:
        """The token with the model's probability of it and the k most probable tokens."""
        p = softmax(np.asarray(logits, dtype=np.float64))
        top = np.argpartition(-p, k - 1)[:k] if k < p.size else np.arange(p.size)
        top = top[np.argsort(-p[top], kind="stable")]
        return {"id": token, "token": self.vocab.itos[token], "p": float(p[token]),
                "top": [{"token": self.vocab.itos[int(i)], "p": float(p[i])} for i in top]}

    def tokens(self, request: SampleRequest) -> Iterator[tuple[int, np.ndarray]]:
        """(token, logits it came from) for the request: sampled, or the best beam read back."""
        prime_ids = encode_prime(request.prime, self.vocab, self.unit)
        if request.beam_width is None:
            rule = SamplingRule(request.temperature, request.top_k, request.top_p,
                                request.repetition_penalty, self.banned)
            yield from islice(sample_steps(self.model, prime_ids, rule, request.seed),
                              request.length)
            return
        best = lm_beam_search(self.model, prime_ids, request.length, request.beam_width,
                              eos_id=EOS_ID if self.banned == NEVER else None,
                              banned=self.banned)[0]
        stepping = stepping_of(self.model)
        logits, state = stepping.start(prime_ids)
        for token in best.tokens:
            yield token, logits
            logits, state = stepping.step(token, state)

    def stream(self, request: SampleRequest, alternatives: int) -> Iterator[dict]:
        """One dict per token (its text piece, probability, alternatives), then the total."""
        ids: list[int] = []
        try:
            for token, logits in self.tokens(request):
                ids.append(token)
                yield {"text": self.piece(request.prime, ids),
                       **self.entry(token, logits, alternatives)}
        except SeqlmError as e:  # an unknown token in the prime: before any token came out
            raise RequestError(400, str(e)) from None
        yield {"done": True, "text": join_prime(request.prime, self.token_text(ids), self.unit),
               "tokens": len(ids)}

    def piece(self, prime: str, ids: list[int]) -> str:
        """The text the last of `ids` adds: the first joined to the prime as the tokenizer
        joins them, the others read off a short tail (detokenising all so far each time would
        make a long sample quadratic)."""
        if len(ids) == 1:
            return join_prime(prime, self.token_text(ids), self.unit)[len(prime):]
        before, after = self.token_text(ids[-TAIL - 1:-1]), self.token_text(ids[-TAIL - 1:])
        return after[len(commonprefix((before, after))):]  # a byte may complete a character

    def score(self, text: str, worst: int) -> dict:
        """The text's totals (nats per token, bits per char) and each token's nats."""
        stream = encode_text(text, self.unit, self.vocab)
        if len(stream) < 2:
            raise RequestError(400, "text needs at least two tokens to score one")
        totals = evaluate_stream(self.model, stream, 1, self.loaded.config.window)
        ids = torch.as_tensor(stream.ids, dtype=torch.long)[None, :]  # (1, T)
        with torch.inference_mode():
            logits, _, _ = self.model(ids[:, :-1])  # (1, T-1, V)
            logp = torch.log_softmax(logits.float(), -1)[0]
            nats = -logp.gather(1, ids[0, 1:, None])[:, 0].double().numpy()  # (T-1,)
        tokens = self.vocab.decode(stream.ids.tolist())
        order = np.argsort(-nats, kind="stable")[:worst]
        return {**totals, "scored": totals["tokens"], "first": tokens[0],
                "tokens": [{"token": t, "nats": float(n)} for t, n in zip(tokens[1:], nats,
                                                                         strict=True)],
                "worst": [int(i) for i in order]}

    def activations(self, text: str, layer: str | None, unit: int | None) -> dict:
        """One unit's value after every token of `text` (default: the top layer's h, the
        unit that varies most over this text)."""
        from seqlm.lab.structure_activations import unit_activations

        if not self.readable:
            raise RequestError(400, f"model {self.name} is a {self.describe()['cell']} model: "
                               "activations are read from rnn, lstm and gru cells")
        stream = encode_text(text, self.unit, self.vocab)
        states = unit_activations(self.model, stream.ids)
        layer = layer or f"h{self.loaded.config.model.num_layers}"
        if layer not in states:
            raise RequestError(400, f"layer {layer!r} is not a state of {self.name}: choose "
                               f"one of {', '.join(states)}")
        values = states[layer]  # (T, H)
        unit = int(np.argmax(values.std(0))) if unit is None else unit
        if not 0 <= unit < values.shape[1]:
            raise RequestError(400, f"unit {unit} is out of range: {layer} has units 0 to "
                               f"{values.shape[1] - 1}")
        return {"layer": layer, "unit": unit, "units": int(values.shape[1]),
                "layers": list(states), "tokens": self.vocab.decode(stream.ids.tolist()),
                "values": [float(v) for v in values[:, unit]]}

    def warm_up(self, tokens: int) -> None:
        """A short sample, then its score, so the first request pays no first-call costs."""
        request = SampleRequest("", tokens, 1.0, None, None, 1.0, None, 0)
        *_, last = self.stream(request, 5)
        if len(encode_text(last["text"], self.unit, self.vocab)) >= 2:
            self.score(last["text"], 1)

"""Reading a prompt token by token, with everything the model holds laid open.

For each token of the prompt: the token, the top layer's hidden state h (its first few
units, rounded, and its L2 norm), for the LSTM the cell state c and the gates i, f, g, o,
for the GRU the gates r, z, n (each its first few units), and the model's top-k next tokens
with their probabilities. This is `seqlm by-hand`'s table; the reading starts after an
end-of-sentence symbol, as every training sentence does. Leaves out: attention-like
saliency, lower layers of a stack.
"""

from dataclasses import dataclass, field

import numpy as np

from seqlm.data.vocab import EOS, Vocab
from seqlm.errors import SeqlmError
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.primitives import softmax


@dataclass(frozen=True)
class WalkStep:
    token: str
    h: list[float]  # the first units of the top layer's h, rounded
    h_norm: float
    vectors: dict[str, list[float]] = field(default_factory=dict)  # c and gates, first units
    top: list[tuple[str, float]] = field(default_factory=list)  # next token, probability


def check_prompt(tokens: list[str], vocab: Vocab | None = None) -> None:
    """An empty prompt, or one with words the model never saw, is bad input; say which.
    Without a vocabulary only emptiness is checked (before a model exists)."""
    if not tokens:
        raise SeqlmError("the prompt is empty: give at least one word, e.g. --prompt "
                         "\"i work , you work , he\"")
    unknown = vocab.oov(tokens) if vocab is not None else []
    if unknown:
        raise SeqlmError(f"prompt token(s) {', '.join(repr(t) for t in unknown)} are not in the "
                         f"model's vocabulary ({len(vocab)} words): use words from the training "
                         "sentences (tokens are separated by spaces, punctuation included)")


def walk(model: ReferenceLM, vocab: Vocab, tokens: list[str], top_k: int = 5,
         units: int = 6, digits: int = 2) -> list[WalkStep]:
    """Feed `tokens` one at a time (batch 1) after `</s>`; one `WalkStep` per token."""
    check_prompt(tokens, vocab)
    state = model.zero_state(1)
    _, state, _ = model.step(np.array([vocab.stoi[EOS]]), state)
    top_cell = model.cells[-1]
    steps = []
    for token in tokens:
        logits, state, caches = model.step(np.array([vocab.stoi[token]]), state)
        probs = softmax(logits[0].astype(np.float64))  # (V,)
        order = np.argsort(-probs, kind="stable")[:top_k]
        h = state[-1][0][0]  # top layer, h, batch row 0: (H,)
        vectors = {"c": state[-1][1][0]} if len(state[-1]) == 2 else {}
        vectors.update({k: v[0] for k, v in top_cell.gate_values(caches[-1]).items()})
        steps.append(WalkStep(
            token=token,
            h=rounded(h, units, digits),
            h_norm=round(float(np.linalg.norm(h)), digits + 1),
            vectors={k: rounded(v, units, digits) for k, v in vectors.items()},
            top=[(vocab.itos[i], round(float(probs[i]), 4)) for i in order],
        ))
    return steps


def rounded(vector: np.ndarray, units: int, digits: int) -> list[float]:
    return [round(float(v), digits) for v in vector[:units]]

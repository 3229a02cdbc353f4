"""Sentences from an n-gram model, drawn through the one sampling rule of
`seqlm.decoding.sampling` (the rule every seqlm LM samples with).

A sentence starts after `<s>` (and an optional prefix), draws one token at a time from the
model's distribution given the last N-1 tokens, and ends at `</s>` or after `max_tokens`.
Temperature 0 is greedy, as everywhere. The n-gram vocabulary keeps KenLM's ids (`<unk>` 0,
`<s>` 1, `</s>` 2), so `<s>` is the one token banned here. Torch is never imported.
Leaves out: beam search over n-gram models.
"""

from seqlm.config.ngram import NgramConfig
from seqlm.data.tokenizers import get_tokenizer
from seqlm.decoding.sampling import SamplingRule, generate
from seqlm.decoding.steppings import NgramStepping
from seqlm.ngram.stream import NGRAM_BOS_ID, NGRAM_EOS_ID, split_line


def sample_sentences(model, n: int, seed: int, temperature: float = 1.0,
                     max_tokens: int = NgramConfig.max_tokens, prefix: str = "") -> list[str]:
    """`n` sentences as text, reproducible from `seed`; each starts with `prefix`."""
    start = split_line(prefix, model.unit) if prefix else []
    prime = [NGRAM_BOS_ID, *(int(i) for i in model.vocab.ids(start))] if start \
        else [NGRAM_BOS_ID]
    rule = SamplingRule(temperature, banned=(NGRAM_BOS_ID,))
    stepping, detokenize = NgramStepping(model), get_tokenizer(model.unit).detokenize
    out = []
    for i in range(n):  # one stream of draws: sentence i continues where i - 1 stopped
        ids = generate(stepping, prime, max_tokens, rule, seed=[seed, i],
                       stop_id=NGRAM_EOS_ID)
        words = [model.vocab.token(t) for t in ids if t != NGRAM_EOS_ID]
        out.append(detokenize(start + words))
    return out

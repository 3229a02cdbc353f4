"""Text in, text out: priming a language model with a string and decoding its continuations.

`encode_prime` refuses tokens the model has never seen (a sample conditioned on <unk> would
quietly mean something else) and names them. An empty prime starts after a line break (the
most frequent token if the vocabulary has no line break). `decode_samples` runs every
temperature of a `SampleConfig` (or beam search) and returns the texts with their settings.
Leaves out: streaming output token by token.
"""

from seqlm.config import SampleConfig
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import EOS, EOS_ID, SPECIALS, Vocab
from seqlm.decoding.sampling import NEVER, SamplingRule, generate
from seqlm.errors import SeqlmError


def encode_prime(prime: str, vocab: Vocab, unit: str) -> list[int]:
    """Token ids of `prime`; unknown tokens are an error that lists them."""
    tokenizer = get_tokenizer(unit)
    if not prime:  # start after a line end (or the most frequent ordinary token)
        return [vocab.stoi[tokenizer.line_end]] if tokenizer.line_end in vocab \
            else [len(SPECIALS)]
    tokens = tokenizer.open_prime(prime)
    unknown = vocab.oov(tokens)
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:10])
        raise SeqlmError(f"the prime holds {len(unknown)} {unit} token(s) outside the model's "
                         f"vocabulary: {shown}; remove them or train on text that has them")
    return [vocab.stoi[t] for t in tokens]


def join_prime(prime: str, continuation: str, unit: str) -> str:
    """The prime followed by its continuation, as the unit's tokenizer joins them."""
    return get_tokenizer(unit).join(prime, continuation)


def decode_samples(model, vocab: Vocab, unit: str, config: SampleConfig) -> list[dict]:
    """One entry per (temperature, sample), or per beam hypothesis with `beam_width`."""
    prime_ids = encode_prime(config.prime, vocab, unit)
    tokenizer = get_tokenizer(unit)
    detok = tokenizer.detokenize
    ends_with_eos = tokenizer.line_end == EOS  # else </s> is no token of this unit: banned
    banned = NEVER if ends_with_eos else (*NEVER, EOS_ID)
    if config.beam_width is not None:
        from seqlm.decoding.steppings_torch import lm_beam_search

        hyps = lm_beam_search(model, prime_ids, config.length, config.beam_width,
                              config.length_alpha, eos_id=EOS_ID if ends_with_eos else None,
                              banned=banned)
        return [{"method": "beam", "rank": i, "logprob_nats": h.logprob_nats, "score": h.score,
                 "text": detok(vocab.decode(h.tokens))} for i, h in enumerate(hyps)]
    out = []
    for temperature in config.temperatures:
        rule = SamplingRule(temperature, config.top_k, config.top_p, config.repetition_penalty,
                            banned)
        for i in range(config.num_samples):
            ids = generate(model, prime_ids, config.length, rule, seed=config.seed + i)
            out.append({"method": "greedy" if temperature == 0 else "sample",
                        "temperature": temperature, "sample": i,
                        "text": detok(vocab.decode(ids))})
    return out

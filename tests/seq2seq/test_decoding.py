import numpy as np
import pytest
import torch

from seqlm.config import Seq2SeqDecodeConfig
from seqlm.data.batching import pad_sequences
from seqlm.data.pairs import encode_sources
from seqlm.decoding.seq2seq import beam_search, greedy, translate
from seqlm.errors import SeqlmError
from seqlm.nn.attention import ATTENTION

ATTENTIONS = ["none", *ATTENTION]



@pytest.mark.parametrize("attention", ATTENTIONS)
def test_batched_greedy_equals_one_by_one(small_model, vocabs, pairs, attention):
    model = small_model(vocabs, seed=3, attention=attention)
    sources = [s for s, _ in pairs[::13]]  # plain and long mixed: much padding
    ids = encode_sources(vocabs.source, sources, 160)
    batch = pad_sequences(ids)
    together = greedy(model, torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths), 16)
    for row, hyp in zip(ids, together, strict=True):
        alone = greedy(model, torch.from_numpy(row)[None], torch.tensor([len(row)]), 16)[0]
        assert hyp.tokens == alone.tokens
        assert hyp.logprob_nats == pytest.approx(alone.logprob_nats, abs=1e-4)
        if attention == "none":
            assert hyp.weights is None and alone.weights is None
        else:
            assert hyp.weights.shape == (len(hyp.tokens) + hyp.finished, len(row))
            np.testing.assert_allclose(hyp.weights, alone.weights, atol=1e-5)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_beam_width_one_is_greedy_exactly(small_model, vocabs, pairs, attention, seed):
    model = small_model(vocabs, seed=seed, attention=attention)
    for source, _ in pairs[::17]:
        row = torch.from_numpy(encode_sources(vocabs.source, [source], 160)[0])[None]
        g = greedy(model, row, torch.tensor([row.shape[1]]), 16)[0]
        b = beam_search(model, row, row.shape[1], 16, width=1)
        assert (b.tokens, b.finished) == (g.tokens, g.finished)
        assert b.logprob_nats == pytest.approx(g.logprob_nats, abs=1e-5)
        if g.weights is not None:
            np.testing.assert_allclose(b.weights, g.weights, atol=1e-6)


def trained_model(small_model, vocabs, pairs):
    """A model that has seen a few steps, so that beams disagree with greedy sometimes."""
    from seqlm.data.pairs import PairBatches

    model = small_model(vocabs, attention="bahdanau", hidden_size=16)
    batches = PairBatches(pairs, vocabs, 16, seed=0, max_source_len=160)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for i in range(25):
        b = batches.batch(i)
        t = torch.from_numpy
        loss = model(t(b.source.ids), t(b.source.lengths), t(b.target_in.ids),
                     t(b.target_out.ids))[1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_beam_keeps_finished_hypotheses_and_their_attention(small_model, vocabs, pairs):
    model = trained_model(small_model, vocabs, pairs)
    for source, _ in pairs[:8]:
        row = torch.from_numpy(encode_sources(vocabs.source, [source], 160)[0])[None]
        best = beam_search(model, row, row.shape[1], 12, width=4, alpha=0.0)
        assert best.weights.shape == (len(best.tokens) + best.finished, row.shape[1])
        np.testing.assert_allclose(best.weights.sum(1), 1.0, atol=1e-5)
        # the score is the sum of the chosen tokens' log-probabilities
        memory, state = model.encode(row, torch.tensor([row.shape[1]]))
        prev, total = torch.tensor([2]), 0.0
        for token in best.tokens + ([3] if best.finished else []):
            logits, state, _ = model.step(prev, state, memory)
            total += float(torch.log_softmax(logits.detach(), -1)[0, token])
            prev = torch.tensor([token])
        assert total == pytest.approx(best.logprob_nats, abs=1e-4)


def test_translate_maps_unknown_characters_to_unk_with_a_warning(small_model, vocabs):
    model = small_model(vocabs)
    with pytest.warns(UserWarning, match="<unk>: '§'"):
        out = translate(model, vocabs, ["12 § 2020"])
    assert len(out) == 1 and out[0].weights.shape[1] == len("12 § 2020")


def test_empty_or_too_long_sources_are_clear_errors(small_model, vocabs):
    model = small_model(vocabs)
    with pytest.raises(SeqlmError, match="source 2 is empty"):
        translate(model, vocabs, ["1 May 2000", ""])
    too_long = "1" * (model.config.max_source_len + 1)
    with pytest.raises(SeqlmError, match="more than the model's maximum of 160"):
        translate(model, vocabs, [too_long])


def test_translate_with_beam_returns_one_translation_per_source_in_order(small_model, vocabs,
                                                                       pairs):
    model = trained_model(small_model, vocabs, pairs)
    sources = [s for s, _ in pairs[::7]]
    greedy_out = translate(model, vocabs, sources)  # beam_width 1: batched greedy
    assert [t.source for t in greedy_out] == sources
    for t in greedy_out:  # a trained model: width-1 beam search walks greedy's path exactly
        row = torch.from_numpy(encode_sources(vocabs.source, [t.source], 160)[0])[None]
        b = beam_search(model, row, row.shape[1], model.config.max_target_len, width=1)
        assert "".join(vocabs.target.decode(b.tokens)) == t.output
        assert b.logprob_nats == pytest.approx(t.logprob_nats, abs=1e-5)
    wide = translate(model, vocabs, sources, Seq2SeqDecodeConfig(beam_width=3))
    assert [t.source for t in wide] == sources
    with pytest.raises(SeqlmError, match="beam_width = 0 is out of range"):
        translate(model, vocabs, sources, Seq2SeqDecodeConfig(beam_width=0))

import pytest
import torch

from seqlm.config import Seq2SeqModelConfig
from seqlm.data.pairs import PairBatches
from seqlm.data.vocab import BOS_ID
from seqlm.errors import SeqlmError
from seqlm.nn.attention import ATTENTION
from seqlm.nn.seq2seq import Seq2Seq

ATTENTIONS = ["none", *ATTENTION]



def tensors(batch):
    t = torch.from_numpy
    return (t(batch.source.ids), t(batch.source.lengths), t(batch.target_in.ids),
            t(batch.target_out.ids))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_padding_never_changes_the_encoding(small_model, vocabs, cell, bidirectional):
    model = small_model(vocabs, cell=cell, bidirectional=bidirectional)
    short = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0, 0], [8, 9, 10, 11, 12, 13]])
    alone, _ = model.encode(short, torch.tensor([3]))
    batched, _ = model.encode(padded, torch.tensor([3, 6]))
    assert torch.allclose(alone.summary[0], batched.summary[0], atol=1e-6)
    assert torch.allclose(alone.keys[0], batched.keys[0, :3], atol=1e-6)
    assert (batched.keys[0, 3:] == 0).all()


def test_bahdanau_queries_the_previous_state_luong_the_current(small_model, vocabs):
    """Bahdanau scores with s_{t-1}: the first weights cannot depend on the input token.
    Luong scores with h_t, computed from that token: they do."""
    src, lengths = torch.tensor([[5, 6, 7, 8]]), torch.tensor([4])
    for attention, depends in [("bahdanau", False), ("general", True), ("dot", True)]:
        model = small_model(vocabs, attention=attention)
        memory, state = model.encode(src, lengths)
        w1 = model.step(torch.tensor([BOS_ID]), state, memory)[2]
        w2 = model.step(torch.tensor([9]), state, memory)[2]
        assert (not torch.allclose(w1, w2)) == depends, attention


def test_input_feeding_widens_the_luong_input(small_model, vocabs):
    fed = small_model(vocabs, attention="general", input_feeding=True)
    plain = small_model(vocabs, attention="general", input_feeding=False)
    assert fed.decoder.cell.cell.weight_ih.shape[1] == 8 + 24  # E + H~
    assert plain.decoder.cell.cell.weight_ih.shape[1] == 8
    assert len(fed.encode(torch.tensor([[5]]), torch.tensor([1]))[1]) == 2  # (h, h~)


def test_no_attention_returns_no_weights(small_model, vocabs, pairs):
    model = small_model(vocabs, attention="none")
    batch = PairBatches(pairs, vocabs, 4, seed=0, max_source_len=160).batch(0)
    logits, loss, weights = model(*tensors(batch))
    assert weights is None and loss.item() > 0
    assert logits.shape == (*batch.target_in.ids.shape, len(vocabs.target))


def test_unknown_options_are_clear_errors(vocabs):
    with pytest.raises(SeqlmError, match="attention"):
        Seq2Seq(Seq2SeqModelConfig(attention="luong"), 10, 10)
    with pytest.raises(SeqlmError, match="cell"):
        Seq2Seq(Seq2SeqModelConfig(cell="rnn"), 10, 10)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_small_model_overfits_a_fixed_batch(small_model, vocabs, pairs, attention):
    from seqlm.decoding.seq2seq import translate

    model = small_model(vocabs, attention=attention, hidden_size=24)
    chosen = pairs[:6]
    batch = PairBatches(chosen, vocabs, 6, seed=0, max_source_len=160).batch(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(120):
        loss = model(*tensors(batch))[1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    outputs = [t.output for t in translate(model, vocabs, [s for s, _ in chosen])]
    assert outputs == [t for _, t in chosen]

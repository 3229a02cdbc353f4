import math

import pytest
import torch

from seqlm.errors import SeqlmError
from seqlm.nn.attention import ATTENTION, AdditiveAttention, masked_softmax

ATTENTIONS = ["none", *ATTENTION]



def keys_and_mask(B=3, S=7, H=6):
    g = torch.Generator().manual_seed(1)
    keys = torch.randn(B, S, H, generator=g)
    lengths = torch.tensor([7, 4, 1])
    mask = torch.arange(S)[None, :] < lengths[:, None]
    return keys, mask, torch.randn(B, H, generator=g)


@pytest.mark.parametrize("name", list(ATTENTION))
def test_weights_sum_to_one_on_real_positions_and_are_zero_on_padding(name):
    keys, mask, query = keys_and_mask()
    torch.manual_seed(0)
    attention = ATTENTION[name](6, 6, 5)
    context, weights = attention(query, keys, attention.prepare(keys), mask)
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    assert (weights[~mask] == 0).all()
    assert (weights[mask] > 0).all()
    assert torch.allclose(context, (weights[:, :, None] * keys).sum(1), atol=1e-6)


@pytest.mark.parametrize("name", list(ATTENTION))
def test_attention_keeps_no_state_between_calls(name):
    keys, mask, query = keys_and_mask()
    attention = ATTENTION[name](6, 6, 5)
    first = attention(query, keys, attention.prepare(keys), mask)[1]
    attention(-query, keys * 2, attention.prepare(keys * 2), mask)  # another source between
    again = attention(query, keys, attention.prepare(keys), mask)[1]
    assert torch.equal(first, again)
    assert not list(attention.buffers())


def test_scores_follow_the_papers():
    keys, _, query = keys_and_mask()
    dot = ATTENTION["dot"](6, 6).score(query, keys)
    assert torch.allclose(dot, torch.einsum("bh,bsh->bs", query, keys))
    scaled = ATTENTION["scaled_dot"](6, 6).score(query, keys)
    assert torch.allclose(scaled, dot / math.sqrt(6))
    general = ATTENTION["general"](6, 6)
    expected = torch.einsum("bh,hk,bsk->bs", query, general.key_proj.weight, keys)
    assert torch.allclose(general.score(query, general.prepare(keys)), expected, atol=1e-5)
    add = AdditiveAttention(6, 6, 5)  # v^T tanh(W q + U h_j)
    manual = torch.tanh(add.query_proj(query)[:, None] + add.key_proj(keys)) @ add.v.weight[0]
    assert torch.allclose(add.score(query, add.prepare(keys)), manual, atol=1e-6)


def test_dot_needs_equal_widths():
    with pytest.raises(SeqlmError, match="general"):
        ATTENTION["dot"](4, 6)


def test_masked_softmax_of_one_real_position_is_one():
    weights = masked_softmax(torch.tensor([[3.0, 1e9, -1e9]]), torch.tensor([[True, False, False]]))
    assert weights.tolist() == [[1.0, 0.0, 0.0]]


@pytest.mark.parametrize("attention", [a for a in ATTENTIONS if a != "none"])
def test_model_attention_is_zero_on_padding(small_model, vocabs, pairs, attention):
    from seqlm.data.batching import pad_sequences
    from seqlm.data.pairs import encode_sources, encode_targets

    model = small_model(vocabs, attention=attention)
    chosen = [pairs[0], pairs[70], pairs[1]]
    src = pad_sequences(encode_sources(vocabs.source, [s for s, _ in chosen], 160))
    tgt_in, tgt_out = encode_targets(vocabs.target, [t for _, t in chosen])
    _, _, weights = model(torch.from_numpy(src.ids), torch.from_numpy(src.lengths),
                          torch.from_numpy(pad_sequences(tgt_in).ids))
    mask = torch.from_numpy(src.mask)[:, None, :].expand_as(weights)
    assert (weights[~mask] == 0).all()
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:2]))

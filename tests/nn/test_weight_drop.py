"""DropConnect on the recurrent weights (`weight_drop`, the weight-dropped LSTM of AWD-LSTM):
while training, one mask on W_hh per forward call, shared by every step, on the eager and the
compiled step loops and on layer 0's table path; none in eval mode; refused where it has no
meaning (torch's backend, the minimal cells)."""

import pytest
import torch

from seqlm.config import LMConfig
from seqlm.errors import ConfigError
from seqlm.nn.fast import kernels as compiled_kernels
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.recurrent import GRU, LSTM, RNN

LAYERS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
KERNELS = ["eager"] + (["compiled"] if compiled_kernels.missing_tools() is None else [])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("cell", list(LAYERS))
def test_training_runs_the_layer_on_one_masked_copy_of_w_hh(cell, kernels):
    """The dropped connections get no gradient; the layer's output equals a plain layer's
    whose W_hh is that mask times W_hh / (1 - p), at every step (one mask per call)."""
    torch.manual_seed(0)
    p = 0.5
    dropped = LAYERS[cell](5, 16, batch_first=True, weight_drop=p, kernels=kernels)
    plain = LAYERS[cell](5, 16, batch_first=True, kernels=kernels)
    plain.load_state_dict(dropped.state_dict())
    x = torch.randn(3, 9, 5)
    out, _ = dropped(x)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    kept = dropped.weight_hh_l0.grad != 0
    assert 0.35 < kept.float().mean().item() < 0.65
    with torch.no_grad():
        plain.weight_hh_l0.copy_(dropped.weight_hh_l0 * kept / (1 - p))
    torch.testing.assert_close(plain(x)[0], out, rtol=1e-5, atol=1e-6)
    dropped.eval()
    plain.load_state_dict(dropped.state_dict())
    assert torch.equal(dropped(x)[0], plain(x)[0])  # no mask in eval mode
    assert "weight_drop=0.5" in repr(dropped)


def test_the_lm_keeps_its_table_path_and_draws_a_mask_per_batch():
    torch.manual_seed(0)
    model = RecurrentLM(11, LMConfig(cell="lstm", embedding_dim=32, hidden_size=16,
                                     dropout=0.0, weight_drop=0.3))
    idx = torch.randint(0, 11, (8, 64))
    model.train()
    assert model.uses_table(idx)  # the mask is on W_hh: layer 0's table stands
    first, second = model(idx)[0], model(idx)[0]
    assert not torch.equal(first, second)  # a fresh mask each call
    model.eval()
    assert torch.equal(model(idx)[0], model(idx)[0])


@pytest.mark.parametrize("fields", [{"backend": "torch"}, {"cell": "mingru"}])
def test_weight_drop_is_refused_where_nothing_carries_it(fields):
    with pytest.raises(ConfigError, match="weight_drop"):
        LMConfig(weight_drop=0.25, **fields)
    LMConfig(weight_drop=0.0, **fields)  # the default is fine everywhere

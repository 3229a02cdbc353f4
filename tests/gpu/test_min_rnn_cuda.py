"""On a CUDA GPU: minGRU / minLSTM's three scan paths equal the float64 loop on the CPU
(forward and gradients), train under bf16 autocast, and step like their sequence path."""

import pytest
import torch

from seqlm.config import LMConfig
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.min_rnn import MinGRU, MinLSTM

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("scan", ["sequential", "log", "chunked"])
def test_each_path_on_cuda_equals_the_float64_loop(cls, scan):
    torch.manual_seed(0)
    truth = cls(16, 32, num_layers=2).double()
    ours = cls(16, 32, num_layers=2, scan=scan).to(CUDA)
    ours.load_state_dict(truth.state_dict())
    x = torch.randn(4, 300, 16, dtype=torch.float64, requires_grad=True)
    h0 = torch.rand(2, 4, 32, dtype=torch.float64)
    out, h_n = truth(x, h0)
    (out.sin().sum() + h_n.sum()).backward()
    xc = x.detach().float().to(CUDA).requires_grad_()
    out_c, h_c = ours(xc, h0.float().to(CUDA))
    (out_c.sin().sum() + h_c.sum()).backward()
    tol = 1e-3 if scan == "log" else 1e-4  # the log path's error grows with T (docs/minrnn.md)
    for a, b in ((out_c, out), (h_c, h_n), (xc.grad, x.grad)):
        assert ((a.double().cpu() - b).abs().max() / b.abs().max()) < tol


@pytest.mark.parametrize("scan", ["sequential", "log", "chunked"])
def test_bf16_autocast_trains_and_the_stepper_agrees_on_cuda(scan):
    torch.manual_seed(0)
    model = RecurrentLM(30, LMConfig(cell="mingru", embedding_dim=16, hidden_size=32,
                                     dropout=0.0, scan=scan)).to(CUDA)
    idx = torch.randint(0, 30, (4, 200), device=CUDA)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        _, loss, _ = model(idx, idx)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all()
                                        for p in model.parameters())
    model.eval()
    with torch.inference_mode():
        logits, _, _ = model(idx[:, :20])
        stepper, states, steps = model.stepper(), None, []
        for t in range(20):
            step_logits, states = stepper(idx[:, t], states)
            steps.append(step_logits)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-4)

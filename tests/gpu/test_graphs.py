"""On a CUDA GPU: an LM's forward and backward captured as CUDA graphs (`seqlm.nn.fast.graphs`)
give the ungraphed logits, state and gradients, replay after replay with new inputs, in fp32
and bf16; and `backend = "torch"` (cuDNN) computes what seqlm's layers compute on the same
weights. Written without a GPU at hand (issue 24): run by benchmarks/gpu_check.sh."""

from dataclasses import replace

import pytest
import torch

from seqlm.config import LMConfig
from seqlm.nn.fast.graphs import graphed_lm
from seqlm.nn.lm import RecurrentLM

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")
V = 29


def _model(cell: str, **over) -> RecurrentLM:
    torch.manual_seed(0)
    config = LMConfig(cell=cell, embedding_dim=16, hidden_size=32, num_layers=2, dropout=0.0)
    return RecurrentLM(V, replace(config, **over)).to(CUDA)


def _loss_and_grads(model, call, idx, targets, state):
    model.zero_grad(set_to_none=True)
    logits, final = call(idx, state)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V).float(), targets.reshape(-1))
    loss.backward()
    return [logits.float(), *final] + [p.grad.clone() for p in model.parameters()]


def _ungraphed(model):
    def call(idx, state):
        logits, _, final = model(idx, None, state)
        return logits, final

    return call


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_graphed_lm_equals_the_ungraphed_model(cell, precision):
    model = _model(cell)
    g = torch.Generator(device=CUDA).manual_seed(1)
    batches = [torch.randint(0, V, (2, 4, 12), device=CUDA, generator=g) for _ in range(3)]
    state = tuple(torch.zeros(2, 4, 32, device=CUDA) for _ in range(2 if cell == "lstm" else 1))
    tol = 1e-5 if precision == "fp32" else 2e-2
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16",
                        cache_enabled=False):
        graphed = graphed_lm(model, batches[0][0], state)
        for idx, targets in batches:  # new inputs each replay: the static copies refresh
            state = tuple(torch.randn_like(s) for s in state)
            got = _loss_and_grads(model, graphed, idx, targets, state)
            want = _loss_and_grads(model, _ungraphed(model), idx, targets, state)
            for a, b in zip(got, want, strict=True):
                torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_backend_torch_equals_seqlm_layers_on_cuda(cell):
    ours, theirs = _model(cell), _model(cell, backend="torch")
    theirs.load_state_dict(ours.state_dict())
    idx = torch.randint(0, V, (4, 20), device=CUDA)
    got, want = theirs(idx, idx), ours(idx, idx)
    torch.testing.assert_close(got[0], want[0], rtol=1e-4, atol=1e-4)  # cuDNN's own order
    got[1].backward()
    want[1].backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-4, msg=name)

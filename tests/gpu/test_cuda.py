"""On a CUDA GPU: seqlm's LSTM (fused sequence path and batch-1 stepper) equals torch.nn.LSTM,
training resumes bit-exactly, fp16 and bf16 train, and a CUDA checkpoint loads on the CPU."""

from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load, read_checkpoint
from seqlm.config import CorpusConfig, EngineConfig, LMConfig, ScheduleConfig, TrainConfig
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.recurrent import LSTM
from seqlm.runs.lm import run_train

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


def test_lstm_equals_torch_nn_lstm_on_cuda():
    torch.manual_seed(0)
    ours = LSTM(24, 32, num_layers=2, batch_first=True).to(CUDA)
    theirs = torch.nn.LSTM(24, 32, num_layers=2, batch_first=True).to(CUDA)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 40, 24, device=CUDA, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out, (h, c) = ours(x)
    ref, (h_ref, c_ref) = theirs(x2)
    for a, b in ((out, ref), (h, h_ref), (c, c_ref)):
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    (out.square().sum() + h.sum()).backward()
    (ref.square().sum() + h_ref.sum()).backward()
    assert torch.allclose(x.grad, x2.grad, atol=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-5), name


def test_the_stepper_equals_the_sequence_path_on_cuda():
    torch.manual_seed(0)
    model = RecurrentLM(30, LMConfig(cell="lstm", embedding_dim=16, hidden_size=32,
                                     num_layers=2, dropout=0.0)).to(CUDA).eval()
    idx = torch.randint(4, 30, (1, 25), device=CUDA)
    with torch.inference_mode():
        logits, _, _ = model(idx)
        stepper, states = model.stepper(), None
        for t in range(idx.shape[1]):
            step_logits, states = stepper(idx[:, t], states)
            assert torch.allclose(step_logits, logits[:, t], atol=1e-5)


def tiny(precision: str = "fp32", steps: int = 12) -> TrainConfig:
    return TrainConfig(
        corpus=CorpusConfig(name="verbs", size=600),
        model=LMConfig(cell="lstm", unit="word", embedding_dim=16, hidden_size=32,
                       num_layers=2, dropout=0.1),
        engine=EngineConfig(schedule=ScheduleConfig(lr=5e-3, warmup_steps=3), max_steps=steps,
                            eval_every=4, log_every=2, device="cuda", precision=precision),
        batch_size=8, window=10, eval_max_tokens=400)


def test_training_resumes_bit_exactly_on_cuda(tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        config = tiny()
        full = run_train(config, out=tmp_path / "full")
        seen = {"step": 0}
        run_train(config, out=tmp_path / "cut", should_stop=lambda: seen["step"] >= 6,
                  progress=lambda e: seen.update(step=e.done) if e.task == "train" else None)
        resumed = run_train(config, out=tmp_path / "resumed", resume=tmp_path / "cut")
        a = read_checkpoint(full.path / "last.pt", "lm")["model"]
        b = read_checkpoint(resumed.path / "last.pt", "lm")["model"]
        for name, tensor in a.items():
            assert torch.equal(tensor, b[name]), name
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_precision_trains_on_cuda(tmp_path, precision):
    run = run_train(tiny(precision, steps=40), out=tmp_path / precision)
    history = run.metrics
    assert history["status"] == "finished"
    assert history["best_valid_full"]["loss_nats"] < 6.0  # below a uniform guess over ~900 words


def test_a_cuda_checkpoint_loads_on_the_cpu(tmp_path):
    run = run_train(replace(tiny(), engine=replace(tiny().engine, max_steps=4)),
                    out=tmp_path / "r")
    loaded = load(run.path, device="cpu")
    assert next(loaded.model.parameters()).device.type == "cpu"
    idx = torch.tensor([[4, 5, 6]])
    logits, _, _ = loaded.model(idx)
    assert torch.isfinite(logits).all()

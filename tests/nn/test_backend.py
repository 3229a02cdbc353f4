"""`backend = "torch"` (`seqlm.nn.fast.backend`): torch.nn's layers with seqlm's interface,
started from the same weights, holding the same state dict, and scoring a checkpoint trained on
seqlm's own layers to the same validation loss (1e-5, fp32)."""

from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load
from seqlm.config import CorpusConfig, EngineConfig, LMConfig, ScheduleConfig, TrainConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import encode_text
from seqlm.errors import ConfigError
from seqlm.nn.build import build_model
from seqlm.nn.fast.backend import TorchGRU, TorchLSTM, TorchRNN
from seqlm.nn.lm import RecurrentLM
from seqlm.runs.lm import run_train
from seqlm.training.evaluate import evaluate_stream

CELLS = {"lstm": TorchLSTM, "gru": TorchGRU, "rnn": TorchRNN, "rnn_relu": TorchRNN}


@pytest.mark.parametrize("cell", list(CELLS))
def test_both_backends_start_from_the_same_model_and_compute_the_same(cell):
    config = LMConfig(cell=cell, embedding_dim=6, hidden_size=10, num_layers=2, dropout=0.0,
                      forget_bias=1.0 if cell == "lstm" else None)
    models = {}
    for backend in ("seqlm", "torch"):
        torch.manual_seed(0)
        models[backend] = RecurrentLM(13, replace(config, backend=backend)).eval()
    assert isinstance(models["torch"].rnn, CELLS[cell])
    ours, theirs = models["seqlm"].state_dict(), models["torch"].state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name
    idx = torch.randint(0, 13, (3, 7))
    state, first = None, None
    for _ in range(2):  # the state carried between windows, as in TBPTT and evaluation
        got = models["torch"](idx, idx, state)
        want = models["seqlm"](idx, idx, state)
        torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-5)
        for a, b in zip(got[2], want[2], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        state, first = want[2], first if first is not None else want[0]
    with torch.inference_mode():  # the batch-1 stepper reads the torch layer's weights
        logits, _ = models["torch"].stepper()(idx[:, 0], None)
        torch.testing.assert_close(logits, first[:, 0], rtol=1e-5, atol=1e-5)


def test_backend_torch_refuses_the_minimal_cells():
    with pytest.raises(ConfigError, match="backend = 'torch' runs rnn, rnn_relu, lstm, gru"):
        LMConfig(cell="mingru", backend="torch")


@pytest.mark.slow
def test_backend_torch_scores_a_seqlm_checkpoint_to_the_same_loss(tmp_path):
    config = TrainConfig(corpus=CorpusConfig(name="verbs", size=600),
                         model=LMConfig(cell="lstm", unit="char", embedding_dim=16,
                                        hidden_size=24, num_layers=2, dropout=0.1),
                         engine=EngineConfig(max_steps=12, eval_every=12, threads=1,
                                             device="cpu", precision="fp32",
                                             schedule=ScheduleConfig(lr=5e-3, warmup_steps=3)),
                         batch_size=4, window=16, eval_max_tokens=400)
    run = run_train(config, tmp_path / "run")
    loaded = load(run.path)
    assert loaded.config.model.backend == "seqlm"  # recorded in the checkpoint's config
    torch_config = replace(loaded.config, model=replace(loaded.config.model, backend="torch"))
    theirs = build_model("lm", torch_config, loaded.vocab)
    theirs.load_state_dict(loaded.payload["model"])
    text = load_corpus(loaded.config.corpus).text("valid")
    stream = encode_text(text, "char", loaded.vocab)
    want = evaluate_stream(loaded.model, stream, 8, 32)
    got = evaluate_stream(theirs, stream, 8, 32)
    assert abs(got["loss_nats"] - want["loss_nats"]) < 1e-5


def test_a_config_saved_before_kernels_and_backend_loads_with_their_defaults():
    from seqlm.config import from_dict, to_dict

    old = to_dict(TrainConfig())
    del old["model"]["kernels"], old["model"]["backend"]
    config = from_dict(TrainConfig, old)
    assert (config.model.kernels, config.model.backend) == ("auto", "seqlm")

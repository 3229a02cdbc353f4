"""The ONNX generation loop (`seqlm.export.onnx_loop`): K tokens per onnxruntime call draw the
tokens of the per-step ONNX path (one call per token, the rule in NumPy) for the same seed,
for every cell and every sampling option, whatever the chunk size (the state, the logits and
the seen mask carried from chunk to chunk); without the `onnx` package sampling takes the
step path; bad sampling options stay one-line errors."""

import importlib.util
from types import SimpleNamespace

import pytest
import torch

from seqlm.config import LMConfig, TrainConfig, to_dict
from seqlm.data.vocab import Vocab
from seqlm.decoding.sampling import NEVER, SamplingRule, generate
from seqlm.nn.build import build_model

RULES = {  # every option of the rule alone, then together
    "plain": SamplingRule(1.0),
    "temperature": SamplingRule(0.8),
    "greedy": SamplingRule(0.0),
    "top_k": SamplingRule(1.3, top_k=5),
    "top_p": SamplingRule(1.0, top_p=0.8),
    "penalty": SamplingRule(0.9, repetition_penalty=1.4),
    "greedy_penalty": SamplingRule(0.0, repetition_penalty=1.5),
    "all": SamplingRule(1.2, top_k=12, top_p=0.9, repetition_penalty=1.2,
                        banned=(*NEVER, 3)),
}
TOKENS = 300


@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def onnx_sides(cell: str, exporter: str = "torchscript"):
    """(graph-loop OnnxLM, per-step OnnxLM) of a small untrained char LM of `cell`."""
    from seqlm.export.onnx import lm_bytes
    from seqlm.export.onnx_runtime import OnnxLM, metadata, session

    torch.manual_seed(0)
    vocab = Vocab.build("the quick brown fox jumps over a lazy dog")
    config = TrainConfig(model=LMConfig(unit="char", cell=cell, embedding_dim=12,
                                        hidden_size=16, num_layers=2))
    model = build_model("lm", config, vocab).eval()
    with torch.no_grad():  # sharper logits than the initialisation's: top-p cuts something
        model.proj.weight.mul_(8.0)
    data = lm_bytes(SimpleNamespace(kind="lm", model=model, payload={
        "config": to_dict(config), "vocab": vocab.to_dict()}), exporter)
    sess = session(data)
    return OnnxLM(sess, metadata(sess, "test"), data, chunk=7), \
        OnnxLM(sess, metadata(sess, "test"))


@pytest.fixture(scope="module", params=["rnn", "rnn_relu", "lstm", "gru", "mingru",
                                        "minlstm"])
def sides(ort, request):
    return onnx_sides(request.param)


@pytest.mark.parametrize("name", list(RULES))
def test_the_loop_draws_the_step_paths_tokens(sides, name):
    looped, stepped = sides
    assert looped.samples_in_graph and not stepped.samples_in_graph
    rule, prime = RULES[name], [5, 9, 5, 12]
    for seed in (0, 1):
        want = generate(stepped, prime, TOKENS, rule, seed=seed)
        assert generate(looped, prime, TOKENS, rule, seed=seed) == want
    assert len(set(want)) > 1 or rule.temperature == 0  # a real sample, not one token
    assert not set(want) & set(rule.banned)


@pytest.mark.parametrize("unroll", [1, 3, 8])
def test_the_state_is_carried_across_chunks_of_any_size(ort, unroll):
    """Chunks of any size and steps per Loop iteration (a chunk rounded up to whole
    iterations; a length no multiple of them) draw the same tokens."""
    from seqlm.export.onnx_runtime import OnnxLM

    looped, stepped = onnx_sides("lstm")
    looped = OnnxLM(looped.session, looped.meta, looped.source, unroll=unroll)
    rule = SamplingRule(0.9, top_p=0.95, repetition_penalty=1.3)
    for length in (TOKENS, 97):
        want = generate(stepped, [6], length, rule, seed=3)
        for chunk in (1, 2, 5, 64, TOKENS, 1000):
            looped.chunk = chunk
            assert generate(looped, [6], length, rule, seed=3) == want, (chunk, length)
    assert len(looped.loops) == 1  # one graph per rule, whatever the chunk


def test_the_loop_carries_each_layer_or_else_the_stacked_state(ort, monkeypatch):
    """The torchscript export reads its state as Gather per layer and writes it as
    Unsqueeze + Concat, which the loop skips; a graph written otherwise (another exporter)
    is carried as it is, and samples the same."""
    import onnx

    from seqlm.export import onnx_loop

    looped, stepped = onnx_sides("lstm")
    nodes = list(onnx.load_from_string(looped.source).graph.node)
    reads, writes, dropped = onnx_loop.layer_wiring(nodes, looped.inputs[1:], 2)
    assert len(reads) == len(writes) == 4 and len(dropped) == 10
    monkeypatch.setattr(onnx_loop, "layer_wiring", lambda *a: None)
    rule = SamplingRule(0.9, top_k=20, repetition_penalty=1.1)
    assert generate(looped, [6], 100, rule, seed=5) == generate(stepped, [6], 100, rule, seed=5)


def test_the_dynamo_exporters_step_loops_too(ort):
    """torch.export's graph reads its state otherwise (no per-layer wiring found): the
    loop carries it stacked and draws the step path's tokens."""
    import onnx

    from seqlm.export.onnx_loop import layer_wiring

    pytest.importorskip("onnxscript")
    looped, stepped = onnx_sides("lstm", exporter="dynamo")
    nodes = list(onnx.load_from_string(looped.source).graph.node)
    assert layer_wiring(nodes, looped.inputs[1:], 2) is None
    rule = SamplingRule(0.9, top_k=10, top_p=0.9, repetition_penalty=1.2)
    assert generate(looped, [5], 200, rule, seed=1) == generate(stepped, [5], 200, rule, seed=1)


def test_a_stop_token_ends_the_loop_as_it_ends_the_steps(ort):
    looped, stepped = onnx_sides("gru")
    rule = SamplingRule(1.0)
    full = generate(stepped, [6], 100, rule, seed=0)
    stop = full[40]
    want = generate(stepped, [6], 100, rule, seed=0, stop_id=stop)
    assert want == full[: full.index(stop) + 1]
    assert generate(looped, [6], 100, rule, seed=0, stop_id=stop) == want


def test_without_the_onnx_package_sampling_takes_the_step_path(ort, monkeypatch):
    from seqlm.export.onnx_runtime import OnnxLM

    looped, stepped = onnx_sides("rnn")
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else found(name, *a))
    alone = OnnxLM(looped.session, looped.meta, looped.source)
    assert not alone.samples_in_graph
    rule = SamplingRule(0.8)
    assert generate(alone, [6], 50, rule) == generate(looped, [6], 50, rule)


@pytest.mark.parametrize("option,needle", [(["--temperature", "-1"], "temperature"),
                                           (["--top-k", "0"], "top"),
                                           (["--top-p", "1.5"], "top"),
                                           (["--repetition-penalty", "0"], "repetition"),
                                           (["--prime", "\u00e9t\u00e9"], "vocabulary")])
def test_bad_sampling_options_are_one_line_errors(ort, tmp_path, capsys, option, needle):
    from seqlm.atomic import atomic_write_bytes
    from seqlm.cli import main
    from seqlm.export.onnx_runtime import load_onnx

    looped, _ = onnx_sides("lstm")
    out = tmp_path / "lm.onnx"
    atomic_write_bytes(out, looped.source)
    assert load_onnx(out).model.samples_in_graph  # `seqlm sample --runtime onnx` loops
    code = main(["sample", str(out), "--runtime", "onnx", "--length", "5", *option])
    err = capsys.readouterr().err
    assert code == 2 and needle in err.lower() and len(err.strip().splitlines()) == 1, err

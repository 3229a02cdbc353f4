"""The compiled step kernels (`seqlm.nn.fast.kernels`, `compiled`): every fused cell on them
equals its eager self (forward, final states and every gradient; fp32 and bf16; initial
states; T = 1 and T > 1), their backward passes a float64 gradcheck, the steppers on them
(at batch 1 one operator for the whole stack) equal the sequence path, `auto` without a
compiler falls back to eager with a note, `compiled` without one is a one-line error, and a
second process compiles nothing.

The kernels are built once per machine (the cache) and loaded once per session (fixture)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import backward_node_names
from seqlm.config import LMConfig
from seqlm.errors import SeqlmError
from seqlm.nn import lm
from seqlm.nn.fast import COMPILED, compiled, kernels
from seqlm.nn.fast.gru import FusedGRU
from seqlm.nn.fast.lstm import FusedLSTM
from seqlm.nn.fast.lstm import _forward_steps as lstm_forward_steps
from seqlm.nn.fast.rnn import FusedRNN
from seqlm.nn.lm import RecurrentLM
from seqlm.nn.recurrent import GRU, LSTM, RNN

LAYERS = {"lstm": (LSTM, {}), "gru": (GRU, {}), "rnn_tanh": (RNN, {}),
          "rnn_relu": (RNN, {"nonlinearity": "relu"})}
E, H = 5, 19  # H = 19: every row ends in a partial SIMD vector

# stated tolerances, compiled against eager on the same inputs (max abs and rel difference).
# fp32: the same formulas in another order, exp to 2 ulp: measured ~1e-6 here on O(1) values.
# bf16: both round the same operands to bf16 for the products; a rounding flip from a ~1e-7
# difference moves a value by up to one bf16 step (2^-8 relative): measured below 1e-6 here.
TOLERANCE = {"fp32": 2e-5, "bf16": 1e-2}


@pytest.fixture(scope="module")
def built():
    """The compiled kernels: built into the cache on this machine's first use, then loaded."""
    return kernels.load()


def _run(module, x, state, precision):
    """Output, final state and every gradient of a loss touching all of them."""
    x = x.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        out, final = module.forward_state(x, state)
    loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() + \
        sum((f * torch.linspace(1, 2, f.numel()).view_as(f)).sum() for f in final)
    loss.backward()
    got = [out, *final, x.grad, *(s.grad for s in state)] + [p.grad for p in module.parameters()]
    return got, out.grad_fn


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("steps", [1, 9])
@pytest.mark.parametrize("cell", list(LAYERS))
def test_compiled_equals_eager(built, monkeypatch, cell, steps, precision):
    calls = []
    monkeypatch.setattr(compiled, "load", lambda: calls.append(1) or built)
    layer, extra = LAYERS[cell]
    torch.manual_seed(0)
    eager = layer(E, H, num_layers=2, batch_first=True, **extra)
    fast = layer(E, H, num_layers=2, batch_first=True, kernels="compiled", **extra)
    fast.load_state_dict(eager.state_dict())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, steps, E, generator=g)
    state = tuple(torch.randn(2, 3, H, generator=g) for _ in range(eager.kind.state_size))
    got, grad_fn = _run(fast, x, state, precision)
    assert len(calls) == 4  # the compiled loops ran: forward and backward, in both layers
    node = {"lstm": "FusedLSTM", "gru": "FusedGRU"}.get(cell, "FusedRNN") + "Backward"
    assert backward_node_names(grad_fn).count(node) == 2
    want, _ = _run(eager, x, state, precision)
    assert len(calls) == 4  # and the eager layer did not use them
    tol = TOLERANCE[precision]
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_lstm_bf16_loops_write_the_bf16_operands_they_replace(built):
    """With bf16 products the compiled LSTM loops read the bf16 input projection and write
    h and each step's gradient also in bf16 (the casts they save): equal to rounding the
    float32 values, and the float32 values equal to the float32-operand kernels'."""
    g = torch.Generator().manual_seed(0)
    steps, batch = 4, 3
    gi = torch.randn(steps, batch, 4 * H, generator=g).bfloat16()
    w_hh, h0, c0 = (torch.randn(*s, generator=g) for s in ((4 * H, H), (batch, H), (batch, H)))
    runs = {}
    for way, loop in (("low", compiled.lstm_forward_steps), ("eager", lstm_forward_steps)):
        buffers = [torch.empty(steps, batch, H) for _ in range(3)]  # out, cells, tanh_cells
        gates, out_low = loop(gi, h0, c0, w_hh, *buffers, torch.bfloat16)
        runs[way] = (gates, *buffers)
    assert out_low is None
    gates, out, cells, tanh_cells = runs["low"]
    _, low = compiled.lstm_forward_steps(gi, h0, c0, w_hh, out.clone(), cells.clone(),
                                         tanh_cells.clone(), torch.bfloat16)
    assert low.dtype == torch.bfloat16 and torch.equal(low, out.bfloat16())
    for a, b in zip(runs["low"], runs["eager"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    d_out = torch.randn(steps, batch, H, generator=g)
    back = {}
    for way in ("low", "fp32"):
        d_gates = torch.empty_like(gates)
        dtype = torch.bfloat16 if way == "low" else None
        *_, d_low = compiled.lstm_backward_steps(gates, cells, tanh_cells, c0, w_hh, d_out,
                                                 torch.zeros(batch, H), torch.zeros(batch, H),
                                                 d_gates, dtype)
        back[way] = (d_gates, d_low)
    assert back["fp32"][1] is None and torch.equal(back["low"][1], back["low"][0].bfloat16())


def test_lstm_whole_loops_equal_the_eager_steps_with_either_product(built):
    """The float32 LSTM's time loops in one call each (loops.cpp) equal the eager step
    loops, with the step product through oneDNN's reordered weight and through at::mm."""
    from seqlm.nn.fast.lstm import _backward_steps
    from seqlm.nn.fast.matmul import onednn_weight

    g = torch.Generator().manual_seed(0)
    steps, batch = 5, 3
    gi, d_out = (torch.randn(steps, batch, n, generator=g) for n in (4 * H, H))
    w_hh, h0, c0, dh = (torch.randn(*s, generator=g) / 3
                        for s in ((4 * H, H), (batch, H), (batch, H), (batch, H)))
    assert onednn_weight(w_hh, batch) is not None  # this CPU reorders: both products run
    new = [torch.empty(steps, batch, H) for _ in range(3)]
    gates, _ = lstm_forward_steps(gi.clone(), h0, c0, w_hh, *new, None)
    want = (gates.clone(), *new)
    for packed in (onednn_weight(w_hh, batch), None):
        got = (gi.clone(), *(torch.empty(steps, batch, H) for _ in range(3)))
        built.lstm_forward_loop(got[0], h0, c0, w_hh, packed, got[2], got[3], got[1])
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)
    dc, d_gates = torch.zeros(batch, H), torch.empty_like(gates)
    d_h0, d_c0, _ = _backward_steps(gates, new[1], new[2], c0, w_hh, d_out, dh, dc, d_gates,
                                    None)
    w_back = w_hh.t().contiguous()
    for packed in (onednn_weight(w_back, batch), None):
        dc, got = torch.zeros(batch, H), torch.empty_like(gates)
        d_h = built.lstm_backward_loop(gates, new[1], new[2], c0, w_back, packed, d_out, dh,
                                       dc, got)
        for a, b in zip((got, d_h, dc), (d_gates, d_h0, d_c0), strict=True):
            torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


T, B, G = 3, 2, 9  # G: one whole float64 vector of 8 (AVX-512) and a partial one
SHAPES = {"lstm": ((T, B, E), (4 * G, E), (4 * G,), (B, G), (B, G), (4 * G, G)),
          "gru": ((T, B, E), (3 * G, E), (3 * G,), (3 * G,), (B, G), (3 * G, G)),
          "rnn": ((T, B, E), (G, E), (G,), (B, G), (G, G))}


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_compiled_backward_gradcheck_in_double(built, cell):
    """The fused nodes on the compiled loops (float64 kernels), against finite differences
    (gradcheck's fast mode: random projections of the Jacobian, seconds instead of minutes)."""
    g = torch.Generator().manual_seed(0)
    kind = cell[:3] if cell.startswith("rnn") else cell
    args = [torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_()
            for s in SHAPES[kind]]
    apply = {"lstm": FusedLSTM.apply, "gru": FusedGRU.apply}.get(kind, FusedRNN.apply)
    extra = (cell == "rnn_relu",) if kind == "rnn" else ()
    loops = compiled.LOOPS[kind]
    # single_backward=False: gradcheck walks the graph more than once
    assert torch.autograd.gradcheck(lambda *a: apply(*a, *extra, False, None, loops), args,
                                    fast_mode=True)


def twin_models(cell: str, hidden: int) -> dict:
    """Two char LMs with the same weights, one on the compiled kernels, one on eager ops."""
    models = {k: RecurrentLM(11, LMConfig(cell=cell, embedding_dim=8, hidden_size=hidden,
                                          num_layers=2, dropout=0.0, kernels=k)).eval()
              for k in ("compiled", "eager")}
    models["eager"].load_state_dict(models["compiled"].state_dict())
    return models


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "rnn_relu"])
def test_compiled_stepper_equals_the_sequence_path_and_the_eager_stepper(built, cell):
    torch.manual_seed(0)
    models = twin_models(cell, H)
    idx = torch.randint(0, 11, (3, 6))
    with torch.inference_mode():
        full, _, _ = models["compiled"](idx)
        steppers = {k: m.stepper() for k, m in models.items()}
        if cell in ("lstm", "gru"):  # the RNNs keep their eager ops (stepper.py says why)
            assert steppers["compiled"].step.__name__.endswith("_compiled")
        states = dict.fromkeys(steppers)
        for t in range(6):
            logits = {}
            for k, stepper in steppers.items():
                logits[k], states[k] = stepper(idx[:, t], states[k])
            torch.testing.assert_close(logits["compiled"], full[:, t], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(logits["compiled"], logits["eager"], rtol=1e-5,
                                       atol=1e-5)


@pytest.mark.parametrize("hidden", [H, 70])  # 70: gate blocks span packed 64-column blocks
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "rnn_relu"])
def test_batch_one_stack_step_equals_the_sequence_path_and_the_eager_stepper(built, cell,
                                                                              hidden):
    """At batch 1 the compiled stepper runs the whole stack in one operator (stack_step.cpp,
    its own products on packed weights): logits and final state equal the sequence path's
    and the eager stepper's, from no state and from a state the model handed over."""
    torch.manual_seed(0)
    models = twin_models(cell, hidden)
    idx = torch.randint(0, 11, (1, 7))
    with torch.inference_mode():
        full, _, final = models["compiled"](idx)
        _, _, handed = models["compiled"](idx[:, :3])
        steppers = {k: m.stepper() for k, m in models.items()}
        assert steppers["compiled"].whole is not None and steppers["eager"].whole is None
        for start, first in ((0, None), (3, handed)):
            states = dict.fromkeys(steppers, first)
            for t in range(start, 7):
                logits = {}
                for k, stepper in steppers.items():
                    logits[k], states[k] = stepper(idx[:, t], states[k])
                torch.testing.assert_close(logits["compiled"], full[:, t], rtol=1e-5,
                                           atol=1e-5)
                torch.testing.assert_close(logits["compiled"], logits["eager"], rtol=1e-5,
                                           atol=1e-5)
            for got, want in zip(states["compiled"], final, strict=True):
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        with pytest.raises(RuntimeError, match="outside the vocabulary"):
            steppers["compiled"](torch.tensor([11]), None)


@pytest.mark.skipif(not (sys.platform.startswith("linux") and
                         torch.backends.openmp.is_available()),
                    reason="OpenMP threads: Linux with an OpenMP build of torch")
def test_the_kernels_are_built_with_openmp_and_share_torchs_runtime(built):
    """Without -fopenmp, `at::parallel_for` in the kernels compiles to a serial loop: the
    library must be built with it and name libgomp.so.1, the runtime torch has loaded."""
    assert "-fopenmp" in kernels.compiler_flags()
    library = next((kernels.cache_root() / kernels.build_key()).glob("*.so"))
    if shutil.which("readelf") is None:
        pytest.skip("no readelf to read the library's dynamic section")
    needed = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True,
                            check=True).stdout
    assert "[libgomp.so.1]" in needed
    maps = Path("/proc/self/maps").read_text()
    assert len({line.split()[-1] for line in maps.splitlines()
                if line.rstrip().endswith("libgomp.so.1")}) == 1  # one runtime, torch's


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_threads_do_not_change_the_stack_step(built, cell):
    """The batch-1 products split their packed column blocks over the threads (H = 320: large
    enough to split); each block is summed by one thread, so 1 and 2 threads agree exactly
    (one stepper for both: its table is torch's product, whose order may follow the threads)."""
    torch.manual_seed(0)
    model = twin_models(cell, 320)["compiled"]
    idx = torch.randint(0, 11, (12,))
    runs = []
    with torch.inference_mode():
        stepper = model.stepper()
        for threads in (1, 2):
            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                state, logits = None, []
                for t in range(12):
                    out, state = stepper(idx[t : t + 1], state)
                    logits.append(out)
            finally:
                torch.set_num_threads(previous)
            runs.append((torch.cat(logits), state[0]))
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


def test_auto_without_a_compiler_runs_eager_with_a_note(monkeypatch):
    monkeypatch.setattr(kernels, "_LOADED", {})  # as a fresh process
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match=r"^kernels: eager ops \(no C\+\+ compiler"):
        model = RecurrentLM(7, LMConfig(cell="gru", hidden_size=8, embedding_dim=4))
    assert model.rnn.kernels == "eager" and model.rnn.sequences is not COMPILED
    with pytest.raises(SeqlmError, match="--kernels compiled: no C\\+\\+ compiler.*eager"):
        lm.build_recurrent(LMConfig(cell="lstm", kernels="compiled"))
    assert lm.build_recurrent(LMConfig(cell="rnn", kernels="eager")).kernels == "eager"


def _cache_files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and p.name != "lock"}


@pytest.mark.slow
def test_a_second_process_compiles_nothing(built):
    """This session built (or found) the kernels; a new process loads the cached library: no
    file in the cache folder is added or rewritten (a compile would rewrite the object, the
    library and ninja's log)."""
    folder = kernels.cache_root() / kernels.build_key()
    before = _cache_files(folder)
    assert any(name.endswith(".so") for name in before)
    script = "from seqlm.nn.fast import kernels; kernels.load().lstm_forward"
    env = dict(os.environ, SEQLM_KERNEL_DIR=str(kernels.cache_root()),
               PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    subprocess.run([sys.executable, "-c", script], env=env, timeout=120, check=True)
    assert _cache_files(folder) == before  # .ninja_log, the objects, the library: untouched

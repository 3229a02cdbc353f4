"""TBPTT detaches, exact resume, divergence, evaluation units, and learning on `verbs`."""

import json
import math
from collections import Counter
from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load, read_checkpoint
from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    EvalConfig,
    LMConfig,
    ScheduleConfig,
    TrainConfig,
)
from seqlm.data.corpora import load_corpus
from seqlm.data.lm_data import build_vocab, encode_splits, token_sizes
from seqlm.errors import SeqlmError
from seqlm.nn.build import build_model
from seqlm.nn.lm import RecurrentLM, detach_state
from seqlm.runs.lm import run_eval, run_train
from seqlm.training.engine import Engine
from seqlm.training.lm import LMTask


def small_config(schedule=None, **over) -> TrainConfig:
    engine = {k: over.pop(k) for k in list(over) if k in EngineConfig.__dataclass_fields__}
    engine = dict(dict(max_steps=12, eval_every=4, log_every=2, threads=1, device="cpu"),
                  **engine)
    base = dict(corpus=CorpusConfig(name="verbs", size=600),
                model=LMConfig(cell="lstm", unit="word", embedding_dim=16, hidden_size=24,
                               num_layers=2, dropout=0.1),
                engine=EngineConfig(schedule=schedule or ScheduleConfig(lr=5e-3, warmup_steps=3),
                                    **engine),
                batch_size=4, window=8, eval_max_tokens=400)
    base.update(over)
    return TrainConfig(**base)


def graph_size(tensor) -> int:
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(f for f, _ in fn.next_functions)
    return len(seen)


def test_tbptt_detaches_the_carried_state():
    torch.manual_seed(0)
    model = RecurrentLM(20, LMConfig(hidden_size=8, embedding_dim=8, num_layers=2))
    state, sizes = None, []
    for _ in range(4):
        x = torch.randint(4, 20, (3, 5))
        _, loss, state = model(x, x, detach_state(state))
        sizes.append(graph_size(loss))
        state = detach_state(state)
        assert all(s.grad_fn is None and not s.requires_grad for s in state)
    assert len(set(sizes[1:])) == 1  # the graph does not grow across windows


def test_trainer_carries_state_and_graph_stays_flat(tmp_path):
    config = small_config(max_steps=3)
    corpus = load_corpus(config.corpus)
    vocab = build_vocab(corpus.text("train"), config.model)
    streams = encode_splits(corpus.splits, "word", vocab)
    task = LMTask(config, vocab, streams["train"], streams["valid"], torch.device("cpu"))
    engine = Engine(task, build_model("lm", config, vocab), config.engine, tmp_path)
    engine.update(logged=False)
    first = task.carry[0]
    engine.update(logged=False)
    assert task.carry[0][0].grad_fn is None
    assert not torch.equal(first[0], task.carry[0][0])


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    config = small_config()
    full = run_train(config, out=tmp_path / "full")
    seen = {"step": 0}  # Ctrl-C as the CLI sees it: a flag, raised here once step 6 is logged

    def note(event):
        if event.task == "train":
            seen["step"] = event.done

    run_train(config, out=tmp_path / "cut", progress=note,
              should_stop=lambda: seen["step"] >= 6)
    cut = read_checkpoint(tmp_path / "cut" / "last.pt", "lm")
    assert cut["step"] == 6
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["metrics"]["status"] == "interrupted"
    resumed = run_train(config, out=tmp_path / "resumed", resume=tmp_path / "cut" / "last.pt")
    a = read_checkpoint(full.path / "last.pt", "lm")
    b = read_checkpoint(resumed.path / "last.pt", "lm")
    assert a["step"] == b["step"] == 12
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert [e["loss_nats"] for e in a["training"]["evals"]] == \
        [e["loss_nats"] for e in b["training"]["evals"]]


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_run(tmp_path, monkeypatch):
    original = RecurrentLM.forward
    calls = {"train": 0}

    def poisoned(self, idx, targets=None, state=None):
        logits, loss, state = original(self, idx, targets, state)
        if self.training:
            calls["train"] += 1
            if calls["train"] == 7:  # after the checkpoint written at step 4
                logits = logits * float("nan")
        return logits, loss, state

    monkeypatch.setattr(RecurrentLM, "forward", poisoned)
    # read on the device at each history entry (every 2 steps): found by step 8, before the
    # evaluation at step 8 could write the poisoned weights
    with pytest.raises(SeqlmError, match="training loss became nan by step 8"):
        run_train(small_config(), out=tmp_path / "nan")
    manifest = json.loads((tmp_path / "nan" / "manifest.json").read_text())
    assert manifest["status"] == "diverged"
    assert read_checkpoint(tmp_path / "nan" / "last.pt", "lm")["step"] == 4
    assert (tmp_path / "nan" / "loss_curve.png").is_file()


def test_resume_on_another_corpus_is_refused(tmp_path):
    config = small_config(max_steps=2, eval_every=2)
    run_train(config, out=tmp_path / "a")
    other = small_config(corpus=CorpusConfig(name="verbs", size=600, seed=5))
    with pytest.raises(SeqlmError, match="does not match the checkpoint's"):
        run_train(other, out=tmp_path / "b", resume=tmp_path / "a")  # the config says so
    file_a, file_b = tmp_path / "a.txt", tmp_path / "b.txt"
    file_a.write_text("the cat sat on the mat .\n" * 200)
    file_b.write_text("a dog ran in the park .\n" * 200)
    on_a = small_config(corpus=CorpusConfig(name=f"file:{file_a}"), max_steps=2, eval_every=2)
    run_train(on_a, out=tmp_path / "c")
    moved = replace(on_a, corpus=CorpusConfig(name=f"file:{file_b}"))
    with pytest.raises(SeqlmError, match="corpus differs"):  # the same options, other text
        run_train(moved, out=tmp_path / "d", resume=tmp_path / "c")


def test_eval_units_and_bits_per_char(tmp_path):
    config = small_config(max_steps=2, eval_every=2)
    run_train(config, out=tmp_path / "a")
    text = tmp_path / "t.txt"
    text.write_text("he works .\nshe works .\n" * 20)
    _, m = run_eval(EvalConfig(checkpoint=str(tmp_path / "a"), text_file=str(text)),
                    out=tmp_path / "e")
    n_chars = len(text.read_text())
    assert m["perplexity"] == pytest.approx(math.exp(m["loss_nats"]))
    # all but the first token of each row are scored: bits/char is total bits / their chars
    assert m["bits_per_char"] == pytest.approx(m["bits_per_byte"])
    assert m["bits_per_char"] * n_chars == pytest.approx(m["loss_nats"] * m["tokens"] /
                                                         math.log(2), rel=0.2)


@pytest.mark.parametrize("unit,text", [("char", "añb\n"), ("byte", "añb\n"),
                                       ("word", "he works .\nok\n")])
def test_token_sizes_add_up_to_the_text(unit, text):
    from seqlm.data.tokenizers import get_tokenizer
    chars, nbytes = token_sizes(get_tokenizer(unit).tokenize(text), unit)
    assert chars.sum() == len(text) and nbytes.sum() == len(text.encode("utf-8"))


def unigram_nats(train_tokens, valid_tokens) -> float:
    counts = Counter(train_tokens)
    total, types = sum(counts.values()), len(counts) + 1
    return -sum(math.log((counts[t] + 1) / (total + types)) for t in valid_tokens) / \
        len(valid_tokens)


def test_short_run_beats_the_unigram_baseline_on_verbs(tmp_path):
    from seqlm.data.tokenizers import get_tokenizer
    config = small_config(corpus=CorpusConfig(name="verbs", size=3000), max_steps=150,
                          batch_size=16, window=20, eval_every=150, eval_max_tokens=None,
                          model=LMConfig(unit="word", embedding_dim=32, hidden_size=64,
                                         num_layers=1, dropout=0.0),
                          schedule=ScheduleConfig(lr=1e-2, warmup_steps=10))
    run = run_train(config, out=tmp_path / "v")
    corpus = load_corpus(config.corpus)
    tok = get_tokenizer("word")
    baseline = unigram_nats(tok.tokenize(corpus.text("train")), tok.tokenize(corpus.text("valid")))
    valid = run.metrics["final_valid"]["loss_nats"]
    assert valid < baseline - 1.0, (valid, baseline)


def test_load_lm_rebuilds_from_checkpoint(tmp_path):
    config = small_config(max_steps=2, eval_every=2)
    run_train(config, out=tmp_path / "a")
    loaded = load(tmp_path / "a")
    assert loaded.config == config
    assert not loaded.model.training

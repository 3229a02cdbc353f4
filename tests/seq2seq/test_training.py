import math
from dataclasses import replace

import pytest
import torch

from seqlm.checkpoint import load
from seqlm.config import Seq2SeqConfig, Seq2SeqModelConfig, Seq2SeqTrainConfig, seq2seq_engine
from seqlm.errors import SeqlmError
from seqlm.nn.seq2seq import Seq2Seq
from seqlm.runs.training_run import resume_from
from seqlm.training.schedule import LRSchedule
from seqlm.training.seq2seq import teacher_probability, train_seq2seq
from seqlm.training.threads import torch_threads


@pytest.mark.parametrize("step", [0, 1, 10, 1000, 4000, 9000])
def test_schedules_give_the_documented_probabilities(step):
    linear = Seq2SeqTrainConfig(sampling="linear", ss_linear_slope=1e-4, ss_min_teacher=0.5)
    assert teacher_probability(linear, step) == pytest.approx(max(0.5, 1 - 1e-4 * step))
    exponential = Seq2SeqTrainConfig(sampling="exponential", ss_exp_base=0.999)
    assert teacher_probability(exponential, step) == pytest.approx(0.999 ** step)
    sigmoid = Seq2SeqTrainConfig(sampling="inverse_sigmoid", ss_sigmoid_k=500.0)
    assert teacher_probability(sigmoid, step) == pytest.approx(500 / (500 + math.exp(step / 500)))
    assert teacher_probability(Seq2SeqTrainConfig(), step) == 1.0


def test_schedule_landmarks():
    sigmoid = Seq2SeqTrainConfig(sampling="inverse_sigmoid", ss_sigmoid_k=1000.0)
    assert teacher_probability(sigmoid, 0) == pytest.approx(1000 / 1001)
    # eps = 1/2 where exp(i/k) = k, i.e. at i = k ln k
    assert teacher_probability(sigmoid, round(1000 * math.log(1000))) == pytest.approx(0.5,
                                                                                       abs=1e-3)
    assert teacher_probability(sigmoid, 10**9) < 1e-300  # no overflow far out
    linear = Seq2SeqTrainConfig(sampling="linear", ss_linear_slope=1e-3, ss_min_teacher=0.2)
    assert teacher_probability(linear, 10**6) == 0.2
    with pytest.raises(SeqlmError, match="inverse_sigmoid"):
        teacher_probability(Seq2SeqTrainConfig(sampling="cosine"), 3)


def test_default_learning_rate_is_the_shared_cosine_without_warm_up():
    config = replace(seq2seq_engine(), max_steps=100)
    schedule = LRSchedule(config.schedule, config.max_steps)
    assert schedule.lr(0) == pytest.approx(3e-3)
    assert schedule.lr(50) == pytest.approx(0.55 * 3e-3)  # halfway down the cosine
    assert schedule.lr(100) == pytest.approx(3e-4)


def test_torch_threads_gives_the_previous_count_back():
    before = torch.get_num_threads()
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with pytest.raises(InterruptError), torch_threads(2):
        raise InterruptError
    assert torch.get_num_threads() == before


def test_scheduled_sampling_flips_one_coin_per_token():
    gold = torch.tensor([4] * 4000 + [0] * 10)  # the last ten are padding
    logits = torch.full((4010, 6), -30.0)
    logits[:, 5] = 30.0  # the model is sure of token 5
    g = torch.Generator().manual_seed(0)
    assert torch.equal(Seq2Seq.choose_input(gold, logits, 1.0, g), gold)
    sampled = Seq2Seq.choose_input(gold, logits, 0.0, g)
    assert (sampled[:4000] == 5).all() and (sampled[4000:] == 0).all()
    mixed = Seq2Seq.choose_input(gold, logits, 0.7, g)[:4000]
    assert 0.66 < (mixed == 4).float().mean() < 0.74
    assert set(mixed.tolist()) == {4, 5}


def tiny_config(steps, **engine):
    return Seq2SeqConfig(
        model=Seq2SeqModelConfig(attention="general", embedding_dim=8, hidden_size=12),
        train=Seq2SeqTrainConfig(batch_size=8, eval_size=8, sampling="linear",
                                 ss_linear_slope=0.05),
        engine=replace(seq2seq_engine(), max_steps=steps, eval_every=4, log_every=1, **engine))


class InterruptError(Exception):
    pass


def stop_at(step):
    def callback(event):
        if event.task == "train" and event.done == step:
            raise InterruptError  # a crash right after the step-4 checkpoint was written
    return callback


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path, vocabs, pairs):
    valid = pairs[-8:]
    config = tiny_config(12)  # linear scheduled sampling: the coins matter too
    engine_a, _ = train_seq2seq(config, vocabs, pairs, valid, tmp_path / "a")

    with pytest.raises(InterruptError):
        train_seq2seq(config, vocabs, pairs, valid, tmp_path / "b",
                      progress=stop_at(6))  # dies after step 6; last.pt holds step 4
    torch.manual_seed(12345)  # the global RNG is restored from last.pt, whatever it was
    payload = resume_from(tmp_path / "b", "seq2seq").payload
    engine_b, result = train_seq2seq(config, vocabs, pairs, valid, tmp_path / "b",
                                     resume=payload)
    assert result.position.step == 12 and [e["step"] for e in result.evals] == [4, 8, 12]
    for (name, a), (_, b) in zip(engine_a.model.state_dict().items(),
                                 engine_b.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(SeqlmError, match="holds no checkpoint"):
        resume_from(tmp_path, "seq2seq")


def test_best_checkpoint_rebuilds_the_model(tmp_path, vocabs, pairs):
    from seqlm.decoding.seq2seq import translate

    config = tiny_config(8, threads=2)
    before = torch.get_num_threads()
    engine, result = train_seq2seq(config, vocabs, pairs, pairs[:8], tmp_path)
    assert torch.get_num_threads() == before  # training leaves no global state behind
    assert [e["step"] for e in result.evals] == [4, 8]
    schedule = LRSchedule(config.engine.schedule, 8)
    assert [h["lr"] for h in result.history if h["step"] in (4, 8)] == [schedule.lr(3),
                                                                         schedule.lr(7)]
    assert result.position.best_step in (4, 8)
    best = load(tmp_path / "best.pt")
    assert best.config == config and best.vocab == vocabs
    last = load(tmp_path / "last.pt")
    sources = [s for s, _ in pairs[:6]]
    assert ([t.output for t in translate(last.model, vocabs, sources)]
            == [t.output for t in translate(engine.model, vocabs, sources)])

"""The lab's closing chapter ("how recurrence came back") end to end at a budget of seconds,
and the scan-path measurements it is built from."""


from seqlm.config import QUICK_REVIVAL, TIMED_STEP_CAP, RevivalConfig, merge
from seqlm.lab.revival import revival
from seqlm.lab.scan_speed import VARIANTS, make_variant, scan_errors
from seqlm.lab.steps import STEPS
from seqlm.runs.run import Run


def test_revival_is_the_lab_step_after_seq2seq():
    names = list(STEPS)
    assert names.index("revival") == names.index("seq2seq") + 1


def test_every_speed_variant_builds_and_trains_one_step():
    import torch

    x = torch.randint(0, 65, (2, 5))
    for name in VARIANTS:
        model = make_variant(name, 8, 8)
        _, loss, _ = model(x, x)
        loss.backward()
        assert loss.item() > 0 and all(p.grad is not None for p in model.parameters()), name


def test_scan_errors_cover_every_path_and_length():
    errors = scan_errors((8, 300), batch=2, hidden=4, chunk=16)
    assert set(errors) == {"sequential", "log", "chunked"}
    assert all(set(e) == {8, 300} and all(0 <= v < 1e-3 for v in e.values())
               for e in errors.values())


def test_the_chapter_measures_speed_precision_and_quality(tmp_path):
    config = merge(RevivalConfig(), *QUICK_REVIVAL, {"compare": {
        "train": {"corpus": {"name": "verbs"}}, "sample_length": 8}})
    run = Run("lab", None, out=tmp_path / "lab")
    section = revival(config, run)
    m = section.metrics
    assert set(m["speed"][128]) == set(config.speed_variants)
    models = m["quality"]["models"]
    assert set(models) == {"lstm", "mingru", "minlstm"}
    minutes = config.compare.train.engine.max_minutes
    budget = 60 * minutes  # equal time: each stops at its first step past it
    # time, not the step cap, ended each (the lower bound holds on any machine: a busy one
    # only trains longer; how much longer is a benchmark's business, not this test's)
    assert all(budget <= r["train_seconds"] and 0 < r["steps"] < TIMED_STEP_CAP
               for r in models.values()), models
    assert m["quality"]["minutes"] == minutes
    for text in ("| T | mingru-seq", "| chunked |", "What is given up", "than LSTM at equal time",
                 "the speed of torch.nn.GRU", "minutes per model", "the log scan's error grew",
                 "Why a nonlinear recurrence can be parallelised", "| lstm trained | 64 | 1 |",
                 "| lstm init | 64 | 0 |", "| T | seqlm-gru | newton-loop"):
        assert text in section.markdown, text
    assert (tmp_path / "lab" / "revival" / "loss_curves.png").is_file()
    newton = m["newton"]["convergence"]["lstm"][64]
    for layers in newton.values():  # Newton reaches the sequential states on real windows
        assert all(layer["full"]["to_target"] is not None for layer in layers)
    assert set(m["newton"]["speed"][64]) == {"seqlm-gru", "newton-loop", "newton-scan",
                                             "torch-gru"}

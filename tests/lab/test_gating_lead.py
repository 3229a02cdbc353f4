"""The gated cells' lead: quoted from the chapter's steps' metrics, placed before compare."""

from seqlm.lab.gating_lead import TITLE, lead
from seqlm.lab.steps import LabSection, with_lead

SWEEP = {"corpus": "tinyshakespeare",
         "curve": {"rnn": {"300": {"mean": 1.9}, "3000": {"mean": 1.40}},
                   "lstm": {"300": {"mean": 2.1}, "3000": {"mean": 1.52}},
                   "gru": {"300": {"mean": 1.95}, "3000": {"mean": 1.37}}},
         "crossover": {"lstm": {"budget": None, "clear": False},
                       "gru": {"budget": 3000, "clear": True}}}
AGREEMENT = {"beyond_20": {"buckets": ["21-50", "51-70"],
                           "pooled": {"rnn": {"accuracy": 0.55}, "gru": {"accuracy": 0.8}},
                           "gap_points_vs_rnn": {"gru": 25.0}}}
STRUCTURE = {"models": {
    "rnn": {"parameters": 10, "valid": {"by_distance": {"1": {"accuracy": 1.0},
                                                        "16-31": {"accuracy": 0.5}}}},
    "gru": {"parameters": 10, "valid": {"by_distance": {"1": {"accuracy": 1.0},
                                                        "16-31": {"accuracy": 0.75}}}},
    "ngram": {"ngrams": 99, "valid": {"by_distance": {"16-31": {"accuracy": 0.4}}}}}}


def test_the_lead_quotes_each_steps_own_numbers():
    text = lead({"sweep": SWEEP, "agreement": AGREEMENT, "structure": STRUCTURE})
    assert "at 3000 steps, validation nats/char RNN 1.400, LSTM 1.520, GRU 1.370" in text
    assert "GRU from 3000 steps (intervals separate)" in text
    assert "LSTM does not stay below the RNN up to 3000 steps" in text
    assert "RNN 55.0% correct verb forms; against it GRU +25.0 points" in text
    assert "longest distance (16-31 characters, validation): RNN 50.0%, GRU 75.0%" in text
    assert "n-gram" not in text and "ngram" not in text  # the networks only


def test_no_lead_before_its_steps_ran_and_none_without_compare():
    assert lead({"compare": {"models": {}}}) is None
    named = [("ngram", LabSection("n", "")), ("compare", LabSection("c", ""))]
    assert with_lead(named, {}) == named
    assert with_lead(named[:1], {"sweep": SWEEP}) == named[:1]


def test_the_lead_goes_right_before_compare():
    named = [("ngram", LabSection("n", "")), ("compare", LabSection("c", "")),
             ("sweep", LabSection("s", ""))]
    steps = [step for step, _ in with_lead(named, {"sweep": SWEEP})]
    assert steps == ["ngram", "gating-lead", "compare", "sweep"]
    assert with_lead(named, {"sweep": SWEEP})[1][1].title == TITLE

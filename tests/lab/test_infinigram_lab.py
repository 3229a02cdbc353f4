"""The lab's ∞-gram step, quick: both corpora, the table and the code-versus-prose sentence."""

import pytest

from seqlm.config import LabConfig
from seqlm.lab.infinigram_lab import lab_step
from seqlm.lab.steps import LabContext
from seqlm.runs.run import Run

pytest.importorskip("pydivsufsort", reason="the ∞-gram index needs seqlm[infinigram]")


@pytest.mark.slow
def test_the_quick_step_mixes_on_code_and_prose(tmp_path):
    run = Run("lab", None, out=tmp_path / "lab")
    section = lab_step(LabContext(run=run, config=LabConfig(quick=True)))
    m = section.metrics
    assert "python-stdlib" in m
    code = m["python-stdlib"]
    assert code["mixture_nats"] < code["ngram_nats"] and 0 < code["infinigram_zero_share"] < 1
    assert code["levels"] == [32] and code["levels_mixture_nats"] < code["ngram_nats"]
    assert code["smoothed_mixture_nats"] < code["ngram_nats"]
    assert "| python-stdlib | byte |" in section.markdown
    if "tinyshakespeare" in m:  # offline without the shared data folder: skipped in the notes
        assert "on code and" in section.markdown

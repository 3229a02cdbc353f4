"""The lab's page: every section in order with its plots inside and the command that
reproduces it, the headline numbers linked to those commands, the run's environment and data
checksums at the end; written after every step, so an interrupted lab leaves a page."""

import json

import pytest

from report.page_checks import check_page, markdown_images
from seqlm.config import LabConfig
from seqlm.lab.steps import STEPS, run_lab
from seqlm.progress import Progress


@pytest.mark.slow
def test_the_quick_lab_page_tells_the_whole_story(quick_lab):
    found = check_page(quick_lab / "report.html")
    manifest = json.loads((quick_lab / "manifest.json").read_text())
    sections = manifest["sections"]
    story = list(STEPS)  # in order, the gated cells' lead before their first section
    story.insert(story.index("compare"), "gating-lead")
    assert [s["step"] for s in sections] == story
    assert "The gated cells, in brief" in found.headings
    assert "seqlm lab --steps sweep agreement structure --seed 0 --quick" in found.text
    headings = [h for h in found.headings if h in {s["title"] for s in sections}]
    assert headings == [s["title"] for s in sections]
    ran = [s for s in sections if "*Skipped" not in s["markdown"]]
    assert len(found.images) == sum(markdown_images(s["markdown"]) for s in ran) > 10
    for step in STEPS:  # each section says how to get its numbers again
        assert f"cmd-{step}" in found.ids
        assert f"seqlm lab --steps {step} --seed 0 --quick" in found.text
    assert "What this run measured" in found.headings
    assert sum(h.startswith("#cmd-") for h in found.hrefs) >= 8  # headline numbers -> commands
    for said in ("Why recurrence lost, measured in this run", "temperature 0.5",
                 "temperature 1.2", "written as", "nats/char worse than RNN",
                 manifest["environment"]["python"], manifest["data"]["verbs"]["sha256"]):
        assert said in found.text, said
    for unsaid in ("issue's targets", "Pre-registered", "not better", "vs rnn:"):
        assert unsaid not in found.text, unsaid


def test_an_interrupted_lab_leaves_a_page_of_what_ran(tmp_path):
    out = tmp_path / "lab"
    seen = {}

    def progress(event: Progress) -> None:
        if event.task == "lab" and event.message == "by-hand":  # the third step begins
            seen["page"] = (out / "report.html").read_text()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_lab(LabConfig(quick=True, out=str(out), steps=("corpora", "vanishing", "by-hand")),
                progress=progress)
    assert "still running" in seen["page"] and "Why gradients vanish" in seen["page"]
    found = check_page(out / "report.html")
    assert "interrupted" in found.text
    assert "Corpora" in found.headings and "Why gradients vanish, and why recurrence is " \
        "serial" in found.headings
    assert not any(h.startswith("By hand") for h in found.headings)
    assert len(found.images) == 3  # the vanishing step's plots, inside the page

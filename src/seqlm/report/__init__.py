"""The report: one self-contained `report.html` per run directory, built from its manifest and
the artefacts the run wrote; one page builder per command."""

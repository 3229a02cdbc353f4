"""A real browser opens the quick lab's page: Chromium (headless, no network) loads it from
the file, reports no console message and no request but the page itself, shows every
section's heading, fits a phone's width without sideways scrolling, and leaves screenshots
(their paths are printed and recorded as test properties). Skipped, saying why, only where
Chromium is not installed (`.ci/run` installs the Debian package `chromium`)."""

import json

import pytest

from report.browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run "
    "does it): the browser test cannot run here")]

HEADINGS = "Array.from(document.querySelectorAll('h2')).map(h => h.textContent.trim())"


def test_chromium_shows_the_quick_lab_page(quick_lab, tmp_path_factory, record_property):
    page = quick_lab / "report.html"
    sections = json.loads((quick_lab / "manifest.json").read_text())["sections"]
    shots = tmp_path_factory.mktemp("screenshots")
    with Browser(CHROMIUM, width=1100, height=1400) as browser:
        browser.open(page.as_uri())
        headings = browser.evaluate(HEADINGS)
        images = browser.evaluate("Array.from(document.images).filter(i => i.complete && "
                                  "i.naturalWidth > 0).length")
        desktop = browser.screenshot(shots / "report-desktop.png")
        browser.call("Emulation.setDeviceMetricsOverride", session=True, width=390,
                     height=844, deviceScaleFactor=1, mobile=True)
        widths = browser.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        phone = browser.screenshot(shots / "report-phone.png")
        messages, requested = browser.console_messages(), browser.requested_urls()
    for name, path in (("screenshot", desktop), ("screenshot_phone", phone)):
        record_property(name, str(path))
        print(f"{name}: {path}")
    assert messages == []
    assert all(url == page.as_uri() or url.startswith("data:") for url in requested), requested
    for section in sections:
        assert section["title"] in headings
    assert images >= 10  # decoded and drawn
    assert widths[0] <= widths[1], widths  # nothing wider than a phone's screen
    assert desktop.stat().st_size > 20_000 and phone.stat().st_size > 10_000

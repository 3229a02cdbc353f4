"""The page in a real browser: headless Chromium (driven over the DevTools pipe, as the
report's test does) opens `seqlm serve`'s page from a live uvicorn server on loopback, types a
prime and presses sample, sees the streamed tokens coloured with their top-5; scores a pasted
text and sees its worst tokens marked; types a date and
sees the ISO date and the attention heatmap; no console message, nothing requested from
anywhere but the server. Skipped, saying why, where Chromium is not installed."""

import threading
import time

import pytest

from report.browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run "
    "does it): the page's browser test cannot run here")]


@pytest.fixture(scope="module")
def url(served):
    """The app on a free loopback port, served by uvicorn in a thread."""
    import uvicorn

    from seqlm.serve.app import build_app

    config, models = served
    server = uvicorn.Server(uvicorn.Config(build_app(models, config), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def wait_for(browser: Browser, expression: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the page never showed {expression}")


def type_into(browser: Browser, element: str, text: str) -> None:
    browser.evaluate(f"document.getElementById('{element}').focus()")
    browser.call("Input.insertText", session=True, text=text)


def click(browser: Browser, element: str) -> None:
    box = browser.evaluate(f"(() => {{ const r = document.getElementById('{element}')"
                           ".getBoundingClientRect(); return [r.x + r.width / 2, "
                           "r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1],
                     button="left", clickCount=1)


def test_chromium_samples_and_translates_on_the_page(url):
    with Browser(CHROMIUM, width=1000, height=1600) as browser:
        browser.open(url)
        wait_for(browser, "document.getElementById('lm').options.length > 0")
        type_into(browser, "prime", "i work")
        browser.evaluate("document.getElementById('length').value = '40'")
        click(browser, "sample")
        wait_for(browser, "document.getElementById('sample-info').textContent"
                 ".includes('tokens in')")
        spans = browser.evaluate("Array.from(document.querySelectorAll('#sample-out span'))"
                                 ".map(s => [s.textContent, s.dataset.tip, "
                                 "s.style.background])")
        text = browser.evaluate("document.getElementById('sample-out').textContent")
        type_into(browser, "score-text", "i work , you work .")
        click(browser, "score")
        scored = wait_for(browser, "document.getElementById('score-info').textContent")
        outlined = browser.evaluate("Array.from(document.querySelectorAll('#score-out span'))"
                                    ".filter(s => s.style.outline).length")
        type_into(browser, "source", "July 19 1980")
        click(browser, "translate")
        cells = wait_for(browser, "Number(document.getElementById('heatmap').dataset.cells)")
        iso = browser.evaluate("document.getElementById('iso').textContent")
        error = browser.evaluate("document.getElementById('error').textContent")
        messages, requested = browser.console_messages(), browser.requested_urls()
    assert len(spans) == 40 and text.startswith("i work") and len(text) == len("i work") + 40
    assert all(tip.count("\n") == 5 and colour for _, tip, colour in spans)  # p, then top-5
    assert "18 tokens scored" in scored and outlined == 10  # the ten worst, outlined
    assert iso and cells >= len("July 19 1980") * 2
    assert error == "" and messages == []
    assert all(u.startswith(url) or u.startswith("data:") for u in requested), requested

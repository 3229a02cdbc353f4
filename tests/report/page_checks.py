"""What every report.html must be: well-formed HTML that loads nothing from anywhere (no
script, no stylesheet link, no URL but its own anchors) with every plot inside it as a PNG.
`check_page(path)` asserts all of it and returns what it found, for the tests to look at."""

import base64
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FORBIDDEN = {"script", "link", "iframe", "object", "embed", "base", "form"}
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Found:
    images: list[str] = field(default_factory=list)  # src of every <img>
    hrefs: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    headings: list[str] = field(default_factory=list)  # text of every <h2>
    text: str = ""


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found = Found()
        self.in_h2, self.h2 = False, []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        assert tag not in FORBIDDEN, f"<{tag}> in a report page"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            if value and name in ("src", "href", "action", "poster", "srcset"):
                assert not re.match(r"^\s*(https?:|//|ftp:|file:)", value), value[:80]
        if "id" in attrs:
            assert attrs["id"] not in self.found.ids, f"id {attrs['id']} twice"
            self.found.ids.add(attrs["id"])
        if tag == "img":
            self.found.images.append(attrs.get("src", ""))
        if tag == "a" and "href" in attrs:
            self.found.hrefs.append(attrs["href"])
        if tag == "h2":
            self.in_h2, self.h2 = True, []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag == "h2":
            self.in_h2 = False
            self.found.headings.append("".join(self.h2).strip())

    def handle_data(self, data):
        self.texts.append(data)
        if self.in_h2:
            self.h2.append(data)


def check_page(path: Path) -> Found:
    """Assert the page is self-contained and well formed; what it holds."""
    html = path.read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>")
    assert 'name="viewport"' in html  # laid out for phones too
    assert "url(" not in html and "@import" not in html  # nothing fetched by the style
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    found = checker.found
    found.text = " ".join(" ".join(checker.texts).split())
    for src in found.images:
        assert src.startswith("data:image/png;base64,"), src[:60]
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    for href in found.hrefs:
        assert href.startswith("#") and href[1:] in found.ids, href
    assert "plot not found" not in found.text
    return found


def markdown_images(markdown: str) -> int:
    """How many `![caption](path)` a section's Markdown shows."""
    return len(re.findall(r"!\[[^\]]*\]\([^)]+\)", markdown))

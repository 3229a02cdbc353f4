"""The Markdown of a report section as HTML for `report.html`, with the run's plots inside.

Python-Markdown with its `tables`, `fenced_code` and `sane_lists` extensions, and one of ours:
every `<img>` becomes a `data:` URI of its file in the run directory (a `data:image/...`
source is kept as it is), placed in a `<figure>` captioned with its alt text; tables get a
scrolling wrapper so that wide ones stay readable on a phone. Raw HTML in the Markdown is
switched off: `</s>` in a sample or `<unk>` in a table is text to show, never markup.
Leaves out: Markdown extensions the experiments do not write (footnotes, maths).
"""

import base64
import mimetypes
import xml.etree.ElementTree as ET
from pathlib import Path

import markdown
from markdown.extensions import Extension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup


class EmbedImages(Treeprocessor):
    """Every `<img>` becomes a data: URI of its file in the run directory, inside a
    `<figure>` captioned with its alt text; tables get a scrolling wrapper (phones)."""

    def __init__(self, md, run_dir: Path):
        super().__init__(md)
        self.run_dir = run_dir.resolve()

    def run(self, root: ET.Element) -> None:
        for parent in list(root.iter()):
            for i, child in enumerate(list(parent)):
                if child.tag == "table":
                    wrap = ET.Element("div", {"class": "scroll"})
                    wrap.append(child)
                    wrap.tail, child.tail = child.tail, None
                    parent[i] = wrap
                elif child.tag == "p" and is_image_row(child):
                    parent[i] = self.figures(child)

    def figures(self, paragraph: ET.Element) -> ET.Element:
        row = ET.Element("div", {"class": "figures"})
        row.tail = paragraph.tail
        for img in paragraph:
            figure = ET.SubElement(row, "figure")
            caption = img.get("alt", "")
            data = self.data_uri(img.get("src", ""))
            if data is None:
                missing = ET.SubElement(figure, "p")
                missing.text = f"(plot not found in the run directory: {img.get('src')})"
            else:
                ET.SubElement(figure, "img", {"src": data, "alt": caption})
            ET.SubElement(figure, "figcaption").text = caption
        return row

    def data_uri(self, src: str) -> str | None:
        if src.startswith("data:image/"):
            return src  # drawn for the page alone (`figures.png_data_uri`)
        path = (self.run_dir / src).resolve()
        if not path.is_relative_to(self.run_dir) or not path.is_file():
            return None  # only the run's own files go into its page
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def is_image_row(paragraph: ET.Element) -> bool:
    """A paragraph made only of images (and the spaces between them)."""
    return len(paragraph) > 0 and all(c.tag == "img" and not (c.tail or "").strip()
                                      for c in paragraph) and not (paragraph.text or "").strip()


class EmbedImagesExtension(Extension):
    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        md.treeprocessors.register(EmbedImages(md, self.run_dir), "seqlm_embed_images", 5)
        # no raw HTML: `</s>` in a sample or a table is text to show, never markup
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def to_html(text: str, run_dir: Path) -> Markup:
    """Markdown (tables, fenced code) to HTML with the run's plots inside; any HTML in the
    text is shown as text."""
    # instances, not names: a name is looked up among every installed package's entry points
    # (importlib.metadata, ~25 ms a process)
    md = markdown.Markdown(extensions=[TableExtension(), FencedCodeExtension(),
                                       SaneListExtension(), EmbedImagesExtension(run_dir)])
    return Markup(md.convert(text))  # escaped by Python-Markdown: raw HTML is switched off



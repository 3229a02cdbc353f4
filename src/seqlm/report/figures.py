"""Saving matplotlib figures as the PNG files that runs and reports point to.

One place for the finishing steps every plot shares: tight layout, the folder, the file at a
fixed resolution written atomically with seqlm's mark in its metadata (so `--overwrite` knows
the file is seqlm's), and closing the figure so long runs do not pile figures up in memory.
`png_data_uri` gives a figure that only a report shows (drawn from the manifest) as a
`data:` URI instead of a file.
"""

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from seqlm.atomic import atomic_write_bytes  # noqa: E402
from seqlm.version import __version__  # noqa: E402

DPI = 110


def png_bytes(fig) -> bytes:
    """Lay out `fig`, draw it as PNG at `DPI`, close it."""
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, dpi=DPI, format="png", metadata={"Software": f"seqlm {__version__}"})
    plt.close(fig)
    return png.getvalue()


def save_figure(fig, path: str | Path) -> Path:
    """Lay out `fig`, write it to `path` (folders made), close it; return the path."""
    return atomic_write_bytes(path, png_bytes(fig))


def png_data_uri(fig) -> str:
    """`fig` as a `data:image/png;base64,...` URI (closed afterwards)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig)).decode("ascii")

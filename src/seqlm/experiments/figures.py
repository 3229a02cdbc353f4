"""Saving matplotlib figures as the PNG files that runs and reports point to.

One place for the finishing steps every plot shares: tight layout, the folder, the file at a
fixed resolution, and closing the figure so long runs do not pile figures up in memory.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

DPI = 110


def save_figure(fig, path: str | Path) -> Path:
    """Lay out `fig`, write it to `path` (folders made), close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path

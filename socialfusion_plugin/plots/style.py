"""What every chart of the package shares: figures without pyplot (no display, no global figure
state, safe on servers), one look, and saving as PNG plus a PDF copy for papers.

Saving is deterministic: same data, same bytes (the PDF's creation date is left out, which is the
one thing that would change between reruns), and atomic, as every output of the package."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import List, Optional, Sequence

NA = "n/a"  # what a chart shows where a value is undefined; never drawn as 0
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", ":", "-.")
COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
BETTER, WORSE, UNDEFINED = "#55A868", "#C44E52", "#BBBBBB"
DPI = 150

_RC = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
       "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
       "pdf.fonttype": 42, "svg.hashsalt": "socialfusion"}


def new_figure(width: float, height: float):
    """A Figure with constrained layout (labels, titles and colorbars never overlap or leave bands)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def style(function):
    """Build a chart under the package's rc settings (fonts, spines)."""
    @functools.wraps(function)
    def styled(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return function(*args, **kwargs)

    return styled


def save_figure(figure, png_path: Path, vector_format: str = "pdf") -> List[Path]:
    """Write `png_path` and its vector copy beside it (same stem); returns both paths."""
    import matplotlib

    from ..atomic_files import atomic_output

    png_path = Path(png_path)
    vector_path = png_path.with_suffix(f".{vector_format}")
    metadata = {"pdf": {"CreationDate": None, "ModDate": None}, "svg": {"Date": None}}[vector_format]
    with matplotlib.rc_context(_RC):
        for path, fmt, extra in ((png_path, "png", {"dpi": DPI, "metadata": {"Software": None}}),
                                 (vector_path, vector_format, {"metadata": metadata})):
            with atomic_output(path, binary=True) as handle:
                figure.savefig(handle, format=fmt, **extra)
    return [png_path, vector_path]


def value_text(value: Optional[float], digits: int = 2) -> str:
    return NA if value is None or value != value else f"{value:.{digits}f}"  # NA for None or NaN


def safe_file_part(name: str) -> str:
    """A checkpoint or run name as part of a file name."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._") or "model"


def series_style(index: int) -> dict:
    """Colour, marker and line style of the index-th series: overlapping lines stay distinguishable
    in colour, in grey print and where they lie on top of each other."""
    colour = COLORS[index % len(COLORS)]
    return {"color": colour, "marker": MARKERS[index % len(MARKERS)], "markersize": 6,
            "markerfacecolor": colour if index % 2 == 0 else "white", "markeredgecolor": colour,
            "linestyle": LINE_STYLES[index % len(LINE_STYLES)], "linewidth": 1.4, "alpha": 0.9}


def checkpoint_title(title: str, checkpoint: Optional[str]) -> str:
    return f"{title}\n{checkpoint}" if checkpoint else title


def integers_only(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def checkpoint_name(model_path) -> str:
    """`run/checkpoint-500` for an intermediate checkpoint (its own name says nothing of the run), the
    folder name otherwise."""
    parts = Path(str(model_path).rstrip("/\\")).parts
    if not parts:
        return str(model_path)
    if parts[-1].startswith("checkpoint-") and len(parts) > 1:
        return f"{parts[-2]}/{parts[-1]}"
    return parts[-1]

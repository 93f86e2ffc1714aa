"""Annotated heatmaps: every cell shows its value ("n/a" where undefined, on a hatched cell), and a
colorbar says what the colours mean; the confusion matrix is one, with counts in every cell
(row-normalized colours, so rare classes are readable) and true-class support on the rows."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from .style import NA, new_figure, style


def _cell_text_colour(image, value: float) -> str:
    """Black on light cells, white on dark ones (by the cell's actual colour's luminance)."""
    red, green, blue, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def draw_heatmap(ax, values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                 value_range: Tuple[float, float], cmap: str, digits: int = 2, show_rows: bool = True):
    """One annotated matrix on `ax`; returns the image (for a colorbar)."""
    import matplotlib

    values = np.asarray(values, dtype=float)
    masked = np.ma.masked_invalid(values)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#F2F2F2")  # undefined cells: light grey
    image = ax.imshow(masked, cmap=colours, vmin=value_range[0], vmax=value_range[1], aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=35, ha="right")
    ax.set_yticks(range(len(row_labels)), labels=list(row_labels) if show_rows else [""] * len(row_labels))
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            value = values[i, j]
            if np.isnan(value):
                ax.text(j, i, NA, ha="center", va="center", color="#555555", fontsize=7, style="italic")
            else:
                ax.text(j, i, f"{value:.{digits}f}", ha="center", va="center", fontsize=7,
                        color=_cell_text_colour(image, value))
    return image


def value_range_of(values: np.ndarray, bounds: Optional[Tuple[float, float]] = None) -> Tuple[float, float]:
    """`bounds` when given; [0, 1] when every value lies there (the usual metric); else min..max."""
    if bounds is not None:
        return bounds
    finite = np.asarray(values, dtype=float)[np.isfinite(values)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if low >= 0.0 and high <= 1.0:
        return (0.0, 1.0)
    if low == high:
        return (low - 0.5, high + 0.5)
    return (low, high)


@style
def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], title: str, colorbar_label: str,
            value_range: Optional[Tuple[float, float]] = None, cmap: str = "viridis", digits: int = 2,
            xlabel: str = "", ylabel: str = ""):
    """Annotated matrix with a colorbar (NaN cells: "n/a")."""
    values = np.asarray(values, dtype=float)
    width = 2.6 + 0.9 * len(col_labels) + 0.055 * max((len(str(r)) for r in row_labels), default=0)
    figure = new_figure(width, 1.6 + 0.38 * len(row_labels))
    ax = figure.subplots()
    image = draw_heatmap(ax, values, row_labels, col_labels, value_range_of(values, value_range), cmap, digits)
    figure.colorbar(image, ax=ax, label=colorbar_label, shrink=0.9)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure


@style
def heatmap_panels(panels: Sequence[Tuple[str, np.ndarray]], labels: Sequence[str], title: str,
                   colorbar_label: str, value_range: Tuple[float, float], cmap: str = "coolwarm_r", digits: int = 2):
    """Square matrices over the same labels side by side, one shared colorbar (e.g. cosine panels)."""
    count = max(1, len(panels))
    side = 1.2 + 0.62 * len(labels)
    figure = new_figure(side * count + 1.2, side + 0.9)
    axes = figure.subplots(1, count, squeeze=False)[0]
    image = None
    for position, (ax, (panel_title, matrix)) in enumerate(zip(axes, panels)):
        image = draw_heatmap(ax, matrix, labels, labels, value_range, cmap, digits, show_rows=position == 0)
        ax.set_title(panel_title)
    if image is not None:
        figure.colorbar(image, ax=list(axes), label=colorbar_label, shrink=0.85)
    figure.suptitle(title)
    return figure


@style
def confusion_chart(counts, rows: Sequence[str], columns: Sequence[str], title: str):
    counts = np.asarray(counts, dtype=float)
    support = counts.sum(axis=1)
    shares = np.divide(counts, support[:, None], out=np.full_like(counts, np.nan), where=support[:, None] > 0)
    side = max(3.6, 0.42 * max(len(rows), len(columns)) + 2.4)
    figure = new_figure(side + 1.2, side)
    ax = figure.subplots()
    row_labels = [f"{row} (n={int(n)})" for row, n in zip(rows, support)]
    image = draw_heatmap(ax, shares, row_labels, columns, (0.0, 1.0), "Blues", digits=2)
    # the cells show counts; the colour is the share of the true class
    for text in list(ax.texts):
        text.remove()
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            shade = shares[i, j] if not np.isnan(shares[i, j]) else 0.0
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if shade > 0.6 else "black")
    figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.85)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (support)")
    ax.set_title(title)
    return figure

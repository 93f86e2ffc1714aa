"""Values with their intervals: one panel per task, one row per side (a run or a configuration),
a point at the value and a bar over its 95% interval. A side without a value, or whose answers are
mostly unparsed, gets its note written where the point would be and no point: the chart says what
the tables say, never a floor value drawn as a measurement."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

from .style import COLORS, NA, UNDEFINED, new_figure, style

# (label, value, low, high, note): a note replaces the point (e.g. "no parseable answers (24/24)")
Entry = Tuple[str, Optional[float], Optional[float], Optional[float], Optional[str]]


@style
def interval_panels(panels: Sequence[Tuple[str, Sequence[Entry]]], xlabel: str, columns: int = 2):
    rows = max(1, -(-len(panels) // columns))
    used = min(columns, max(1, len(panels)))
    tallest = max([len(entries) for _, entries in panels] or [1])
    figure = new_figure(4.2 * used, rows * (0.32 * tallest + 1.3))
    axes = figure.subplots(rows, used, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= len(panels):
            ax.set_axis_off()
            continue
        title, entries = panels[index]
        for position, (label, value, low, high, note) in enumerate(entries):
            if note is None and value is not None:
                if low is not None and high is not None:
                    ax.plot([low, high], [position, position], color=COLORS[0], linewidth=2.0, solid_capstyle="butt")
                ax.plot([value], [position], "o", color=COLORS[0], markersize=5)
                ax.text(value, position - 0.22, f"{value:.3f}", ha="center", va="bottom", fontsize=7)
            else:
                ax.text(0.02, position, note or NA, transform=ax.get_yaxis_transform(), va="center", fontsize=7,
                        color="#555555", style="italic", bbox={"facecolor": "white", "edgecolor": UNDEFINED,
                                                             "linewidth": 0.5, "pad": 1.5})
        ax.set_yticks(range(len(entries)), labels=[entry[0] for entry in entries])
        ax.set_ylim(len(entries) - 0.4, -0.8)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    return figure

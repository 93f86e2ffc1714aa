"""Bar charts: a metric per class (with each class's support) and a signed change per task.
Undefined values are written "n/a" where the bar would be, never drawn as 0."""
from __future__ import annotations

from typing import Optional, Sequence

from .style import BETTER, COLORS, NA, UNDEFINED, new_figure, style, value_text


@style
def per_class_bars(labels: Sequence[str], values: Sequence[Optional[float]], support: Sequence[Optional[int]], metric: str,
                   title: str, value_range=(0.0, 1.0)):
    """Horizontal bars, one per class, labelled `class (n=support)`, each with its value at the bar's
    end; a value of 0 is still written (an all-zero chart is not an empty frame)."""
    figure = new_figure(6.4, max(2.2, 0.26 * len(labels) + 1.3))
    ax = figure.subplots()
    positions = range(len(labels))
    drawn = [value if value is not None else 0.0 for value in values]
    ax.barh(positions, drawn, color=[COLORS[0] if v is not None else UNDEFINED for v in values], height=0.7)
    span = value_range[1] - value_range[0]
    for position, value in zip(positions, values):
        anchor = value_range[0] if value is None else value
        ax.text(anchor + 0.01 * span, position, NA if value is None else value_text(value),
                va="center", fontsize=7, color="#555555" if value is None else "black")
    ax.set_yticks(list(positions), labels=[label if count is None else f"{label} (n={count})"
                                           for label, count in zip(labels, support)])
    ax.invert_yaxis()
    ax.set_xlim(value_range[0], value_range[1] + 0.12 * span)  # room for the value at a full bar
    ax.set_xlabel(metric)
    ax.set_title(title)
    return figure


@style
def signed_change_bars(names: Sequence[str], changes: Sequence[Optional[float]], title: str, ylabel: str,
                       notes: Sequence[str] = (), undefined_notes: Sequence[Optional[str]] = ()):
    """Vertical bars of a relative change (positive = better), written as +x.x% above or below each
    bar; "n/a" for an undefined change, or its entry of `undefined_notes` when it says why (e.g.
    "no parseable answers (24/24)"). `notes`: a line under each name (e.g. the metric)."""
    figure = new_figure(max(4.2, 1.05 * len(names) + 2.0), 3.8)
    ax = figure.subplots()
    percents = [None if c is None else 100 * c for c in changes]
    drawn = [0.0 if p is None else p for p in percents]
    ax.bar(range(len(names)), drawn, width=0.65,
           color=[UNDEFINED if p is None else BETTER if p >= 0 else "#C44E52" for p in percents])
    ax.axhline(0, color="black", linewidth=0.8)
    high = max([abs(p) for p in percents if p is not None] or [1.0])
    why = list(undefined_notes) + [None] * len(names)
    for position, percent in enumerate(percents):
        if percent is None:
            ax.text(position, 0.04 * high, why[position] or NA, ha="center", va="bottom", fontsize=8, color="#555555", style="italic")
        else:
            ax.text(position, percent + (0.04 if percent >= 0 else -0.04) * high, f"{percent:+.1f}%", ha="center",
                    va="bottom" if percent >= 0 else "top", fontsize=8)
    ax.set_ylim(-1.25 * high, 1.25 * high)
    labels = [f"{name}\n{note}" if note else name for name, note in zip(names, list(notes) + [""] * len(names))]
    ax.set_xticks(range(len(names)), labels=labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return figure

"""The charts of values: bars, points with intervals, an error distribution and line panels.

- Bars of a metric per class (with each class's support) and of a signed change per task, and points
  with their 95% intervals: undefined values are written "n/a" (or the note that says why) where the
  bar or point would be, never drawn as 0: the chart says what the tables say, never a floor value
  drawn as a measurement.
- The distribution of a distance error (gaze tasks: predicted point to the true point): histogram and
  cumulative share, with the mean and median marked and the answers that gave no point counted.
- Line panels: one panel per key, overlapping series told apart by colour, marker, line style and, on
  integer x values (layers, steps), a small sideways offset per series, so a series lying exactly on
  another stays visible; integer x values get integer ticks only.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .style import (BETTER, COLORS, NA, UNDEFINED, WORSE, integers_only, new_figure, series_style, style,
                    value_text)

# (label, value, low, high, note): a note replaces the point (e.g. "no parseable answers (24/24)")
Entry = Tuple[str, Optional[float], Optional[float], Optional[float], Optional[str]]


@style
def per_class_bars(labels: Sequence[str], values: Sequence[Optional[float]], support: Sequence[Optional[int]],
                   metric: str, title: str, value_range=(0.0, 1.0)):
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
        ax.text(anchor + 0.01 * span, position, value_text(value), va="center", fontsize=7,
                color="#555555" if value is None else "black")
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
           color=[UNDEFINED if p is None else BETTER if p >= 0 else WORSE for p in percents])
    ax.axhline(0, color="black", linewidth=0.8)
    high = max([abs(p) for p in percents if p is not None] or [1.0])
    why = list(undefined_notes) + [None] * len(names)
    for position, percent in enumerate(percents):
        if percent is None:
            ax.text(position, 0.04 * high, why[position] or NA, ha="center", va="bottom", fontsize=8, color="#555555",
                    style="italic")
        else:
            ax.text(position, percent + (0.04 if percent >= 0 else -0.04) * high, f"{percent:+.1f}%", ha="center",
                    va="bottom" if percent >= 0 else "top", fontsize=8)
    ax.set_ylim(-1.25 * high, 1.25 * high)
    labels = [f"{name}\n{note}" if note else name for name, note in zip(names, list(notes) + [""] * len(names))]
    ax.set_xticks(range(len(names)), labels=labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return figure


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


@style
def error_distribution(errors: Sequence[float], title: str, xlabel: str, without_value: int = 0,
                       value_range: Optional[tuple] = None, without_value_note: str = "no point given"):
    errors = np.asarray(list(errors), dtype=float)
    low, high = value_range if value_range else (0.0, float(errors.max()) if errors.size else 1.0)
    figure = new_figure(8.0, 3.6)
    hist_ax, cdf_ax = figure.subplots(1, 2)
    bins = np.linspace(low, high if high > low else low + 1.0, 21)
    hist_ax.hist(errors, bins=bins, color=COLORS[0], edgecolor="white")
    hist_ax.set_xlabel(xlabel)
    hist_ax.set_ylabel("answers")
    hist_ax.set_title("histogram")
    if errors.size:
        ordered = np.sort(errors)
        cdf_ax.step(ordered, np.arange(1, ordered.size + 1) / (ordered.size + without_value), where="post",
                    color=COLORS[0], label="answers with a point")
        for ax in (hist_ax, cdf_ax):
            ax.axvline(float(np.mean(errors)), color=COLORS[3], linestyle="--", linewidth=1,
                       label=f"mean {np.mean(errors):.3f}")
            ax.axvline(float(np.median(errors)), color=COLORS[2], linestyle=":", linewidth=1.2,
                       label=f"median {np.median(errors):.3f}")
    else:
        for ax in (hist_ax, cdf_ax):
            ax.text(0.5, 0.5, "n/a: no answer gave a point", ha="center", va="center", transform=ax.transAxes)
    cdf_ax.set_xlim(low, high if high > low else low + 1.0)
    cdf_ax.set_ylim(0, 1)
    cdf_ax.set_xlabel(xlabel)
    cdf_ax.set_ylabel("share of all answers at or below")
    cdf_ax.set_title("cumulative")
    cdf_ax.grid(alpha=0.3)
    if errors.size:
        cdf_ax.legend(loc="lower right")
    figure.suptitle(f"{title}\n{errors.size} answers with a point, {without_value} {without_value_note}")
    return figure


@style
def line_panels(panels: Mapping[str, Mapping[str, Sequence[Tuple[float, float]]]], xlabel: str, ylabel: str,
                title: str, ylabels: Mapping[str, str] = None):
    """`panels`: panel title -> series name -> [(x, y), ...]; `ylabels`: a y label per panel."""
    from matplotlib.ticker import MaxNLocator

    count = max(1, len(panels))
    figure = new_figure(4.0 * count + 0.4, 3.8)
    axes = figure.subplots(1, count, squeeze=False)[0]
    names: List[str] = sorted({name for series in panels.values() for name in series})
    styles: Dict[str, dict] = {name: series_style(index) for index, name in enumerate(names)}
    for ax, (panel_title, series) in zip(axes, panels.items()):
        xs_all = [x for points in series.values() for x, _ in points]
        dodge = _dodge_step(xs_all, len(names))
        for index, name in enumerate(names):
            points = sorted(series.get(name, ()), key=lambda p: p[0])
            if not points:
                continue
            xs, ys = zip(*points)
            shift = dodge * (index - (len(names) - 1) / 2)
            ax.plot([x + shift for x in xs], ys, label=name, **styles[name])
        if xs_all and integers_only(xs_all):
            ticks = sorted(set(int(x) for x in xs_all))
            if len(ticks) <= 12:
                ax.set_xticks(ticks)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel_title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel((ylabels or {}).get(panel_title, ylabel))
        ax.grid(alpha=0.3)
    if names:  # one legend, in the first panel (series are the same in every panel)
        handles = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels())}
        axes[0].legend(list(handles.values()), list(handles), loc="best", framealpha=0.85)
    figure.suptitle(title)
    return figure


def _dodge_step(xs: Sequence[float], series: int) -> float:
    """Sideways offset between series on integer x: a sixth of the closest spacing in all, enough
    to see a series under another, small beside the distance to the next value."""
    if series < 2 or not xs or not integers_only(xs):
        return 0.0
    distinct = sorted(set(xs))
    spacing = min((b - a for a, b in zip(distinct, distinct[1:])), default=1.0)
    return spacing / 6 / (series - 1)

"""Line panels: one panel per key, overlapping series told apart by colour, marker, line style and,
on integer x values (layers, steps), a small sideways offset per series, so a series lying exactly on
another stays visible; integer x values get integer ticks only."""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

from .style import integers_only, new_figure, series_style, style


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

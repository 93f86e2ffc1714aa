"""Distribution of a distance error (gaze tasks: predicted point to the true point): histogram and
cumulative share, with the mean and median marked and the answers that gave no point counted."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .style import COLORS, new_figure, style


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

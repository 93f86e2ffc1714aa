"""The package's one plotting module: every chart (report, transfer, probe, conflict, compare) is built
here from plain values (labels, values, support, metric name, checkpoint name) as a matplotlib Figure
without pyplot (no display, no global figure state, safe on servers), in one look, and written by
`save_figure` as a PNG with a PDF copy beside it for papers.

Undefined values are written "n/a" (or the note that says why) where the bar, point or cell would be,
never drawn as 0: the chart says what the tables say, never a floor value drawn as a measurement.
Every heatmap cell shows its value, and a colorbar says what the colours mean; the confusion matrix is
one, with counts in every cell (row-normalized colours, so rare classes are readable) and true-class
support on the rows.

Saving is deterministic: same data, same bytes (the PDF's creation date is left out, which is the
one thing that would change between reruns), and atomic, as every output of the package."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

NA = "n/a"  # what a chart shows where a value is undefined; never drawn as 0
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", ":", "-.")
COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
BETTER, WORSE, UNDEFINED = "#55A868", "#C44E52", "#BBBBBB"
DPI = 150

_RC = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
       "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
       "pdf.fonttype": 42}


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


def save_figure(figure, png_path: Path) -> List[Path]:
    """Write `png_path` and its PDF copy beside it (same stem); returns both paths."""
    import matplotlib

    from ..atomic_files import atomic_output

    png_path = Path(png_path)
    pdf_path = png_path.with_suffix(".pdf")
    with matplotlib.rc_context(_RC):
        for path, fmt, metadata, extra in ((png_path, "png", {"Software": None}, {"dpi": DPI}),
                                           (pdf_path, "pdf", {"CreationDate": None, "ModDate": None}, {})):
            with atomic_output(path, binary=True) as handle:
                figure.savefig(handle, format=fmt, metadata=metadata, **extra)
    return [png_path, pdf_path]


def value_text(value: Optional[float]) -> str:
    return NA if value is None or value != value else f"{value:.2f}"  # NA for None or NaN


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


# (label, value, low, high, note): a note replaces the point (e.g. "no parseable answers (24/24)")
Entry = Tuple[str, Optional[float], Optional[float], Optional[float], Optional[str]]


@style
def per_class_bars(labels: Sequence[str], values: Sequence[Optional[float]], support: Sequence[Optional[int]],
                   metric: str, title: str):
    """Horizontal bars, one per class, labelled `class (n=support)`, each with its value at the bar's
    end; a value of 0 is still written (an all-zero chart is not an empty frame)."""
    figure = new_figure(6.4, max(2.2, 0.26 * len(labels) + 1.3))
    ax = figure.subplots()
    positions = range(len(labels))
    ax.barh(positions, [value or 0.0 for value in values],
            color=[COLORS[0] if v is not None else UNDEFINED for v in values], height=0.7)
    for position, value in zip(positions, values):
        ax.text((value or 0.0) + 0.01, position, value_text(value), va="center", fontsize=7,
                color="#555555" if value is None else "black")
    ax.set_yticks(list(positions), labels=[label if count is None else f"{label} (n={count})"
                                           for label, count in zip(labels, support)])
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.12)  # room for the value at a full bar
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
    ax.bar(range(len(names)), [p or 0.0 for p in percents], width=0.65,
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
def interval_panels(panels: Sequence[Tuple[str, Sequence[Entry]]], xlabel: str):
    """Points with their 95% intervals, one panel per title, two panels a row."""
    rows = max(1, -(-len(panels) // 2))
    used = min(2, max(1, len(panels)))
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
    """Histogram and cumulative share of a distance error, mean and median marked, answers without a point counted."""
    errors = np.asarray(list(errors), dtype=float)
    low, high = value_range if value_range else (0.0, float(errors.max()) if errors.size else 1.0)
    high = high if high > low else low + 1.0
    figure = new_figure(8.0, 3.6)
    hist_ax, cdf_ax = figure.subplots(1, 2)
    bins = np.linspace(low, high, 21)
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
        cdf_ax.legend(loc="lower right")
    else:
        for ax in (hist_ax, cdf_ax):
            ax.text(0.5, 0.5, "n/a: no answer gave a point", ha="center", va="center", transform=ax.transAxes)
    cdf_ax.set_xlim(low, high)
    cdf_ax.set_ylim(0, 1)
    cdf_ax.set_xlabel(xlabel)
    cdf_ax.set_ylabel("share of all answers at or below")
    cdf_ax.set_title("cumulative")
    cdf_ax.grid(alpha=0.3)
    figure.suptitle(f"{title}\n{errors.size} answers with a point, {without_value} {without_value_note}")
    return figure


@style
def line_panels(panels: Mapping[str, Mapping[str, Sequence[Tuple[float, float]]]], xlabel: str, ylabel: str,
                title: str, ylabels: Mapping[str, str] = None):
    """`panels`: panel title -> series name -> [(x, y), ...]; `ylabels`: a y label per panel. Overlapping
    series are told apart by colour, marker, line style and, on integer x values (layers, steps), a small
    sideways offset, so a series lying exactly on another stays visible."""
    from matplotlib.ticker import MaxNLocator

    count = max(1, len(panels))
    figure = new_figure(4.0 * count + 0.4, 3.8)
    axes = figure.subplots(1, count, squeeze=False)[0]
    names: List[str] = sorted({name for series in panels.values() for name in series})
    for ax, (panel_title, series) in zip(axes, panels.items()):
        xs_all = [x for points in series.values() for x, _ in points]
        dodge = _dodge_step(xs_all, len(names))
        for index, name in enumerate(names):
            points = sorted(series.get(name, ()), key=lambda p: p[0])
            if not points:
                continue
            xs, ys = zip(*points)
            shift = dodge * (index - (len(names) - 1) / 2)
            ax.plot([x + shift for x in xs], ys, label=name, **series_style(index))
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


def draw_heatmap(ax, values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                 value_range: Tuple[float, float], cmap: str, show_rows: bool = True, counts=None):
    """One annotated matrix on `ax`; returns the image (for a colorbar). `counts`: the numbers the cells
    show instead of the values (which then only colour them)."""
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
            if counts is not None:
                ax.text(j, i, str(int(counts[i][j])), ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 else "black")
            elif np.isnan(value):
                ax.text(j, i, NA, ha="center", va="center", color="#555555", fontsize=7, style="italic")
            else:  # black on light cells, white on dark ones (by the cell colour's luminance)
                red, green, blue, _ = image.cmap(image.norm(value))
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white")
    return image


def value_range_of(values: np.ndarray) -> Tuple[float, float]:
    """[0, 1] when every value lies there (the usual metric); else min..max."""
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
            xlabel: str = "", ylabel: str = ""):
    """Annotated matrix with a colorbar (NaN cells: "n/a")."""
    values = np.asarray(values, dtype=float)
    width = 2.6 + 0.9 * len(col_labels) + 0.055 * max((len(str(r)) for r in row_labels), default=0)
    figure = new_figure(width, 1.6 + 0.38 * len(row_labels))
    ax = figure.subplots()
    image = draw_heatmap(ax, values, row_labels, col_labels, value_range_of(values), "viridis")
    figure.colorbar(image, ax=ax, label=colorbar_label, shrink=0.9)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure


@style
def heatmap_panels(panels: Sequence[Tuple[str, np.ndarray]], labels: Sequence[str], title: str,
                   colorbar_label: str, value_range: Tuple[float, float]):
    """Square matrices over the same labels side by side, one shared colorbar (e.g. cosine panels)."""
    count = max(1, len(panels))
    side = 1.2 + 0.62 * len(labels)
    figure = new_figure(side * count + 1.2, side + 0.9)
    axes = figure.subplots(1, count, squeeze=False)[0]
    image = None
    for position, (ax, (panel_title, matrix)) in enumerate(zip(axes, panels)):
        image = draw_heatmap(ax, matrix, labels, labels, value_range, "coolwarm_r", show_rows=position == 0)
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
    # the cells show counts; the colour is the share of the true class
    image = draw_heatmap(ax, shares, row_labels, columns, (0.0, 1.0), "Blues", counts=counts)
    figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.85)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (support)")
    ax.set_title(title)
    return figure

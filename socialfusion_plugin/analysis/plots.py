"""PNG charts with matplotlib's file-only backend (no display needed on servers)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def heatmap(path: Path, values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], title: str,
            value_range: Optional[tuple] = None, normalize_columns: bool = False, cmap: str = "viridis") -> Path:
    """Annotated matrix. normalize_columns colours each column by its own min..max (metrics of
    different tasks live on different scales); the printed numbers stay the real values."""
    plt = _pyplot()
    shown = np.array(values, dtype=float)
    if normalize_columns:
        low, high = np.nanmin(shown, axis=0), np.nanmax(shown, axis=0)
        span = np.where(high > low, high - low, 1.0)
        shown = (shown - low) / span
    height = 1.2 + 0.45 * len(row_labels)
    width = 2.5 + 1.3 * len(col_labels) + 0.06 * max(len(label) for label in row_labels)
    fig, ax = plt.subplots(figsize=(width, height))
    vmin, vmax = value_range if value_range else (np.nanmin(shown), np.nanmax(shown))
    ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(col_labels)), labels=col_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(row_labels)), labels=row_labels)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = "n/a" if np.isnan(values[i, j]) else f"{values[i, j]:.3f}"
            ax.text(j, i, text, ha="center", va="center", color=_text_colour(shown[i, j], vmin, vmax), fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def line_panels(path: Path, panels: Dict[str, Dict[str, List[tuple]]], xlabel: str, ylabel: str, title: str) -> Path:
    """One panel per key of `panels`; each panel maps a series name to [(x, y), ...]."""
    plt = _pyplot()
    count = max(1, len(panels))
    fig, axes = plt.subplots(1, count, figsize=(4.2 * count, 3.6), squeeze=False)
    for ax, (panel_title, series) in zip(axes[0], panels.items()):
        for name, points in series.items():
            xs, ys = zip(*sorted(points, key=lambda p: p[0])) if points else ((), ())
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(panel_title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12 if handles else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _text_colour(value: float, vmin: float, vmax: float) -> str:
    """White on the dark half of viridis/coolwarm-like maps, black on the light half."""
    if np.isnan(value):
        return "black"
    return "white" if value <= (vmin + vmax) / 2 else "black"

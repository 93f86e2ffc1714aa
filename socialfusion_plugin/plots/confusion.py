"""Confusion matrix: counts in every cell (row-normalized colours, so rare classes are readable),
true-class support on the rows, a colorbar."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .heatmap import draw_heatmap
from .style import new_figure, style


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

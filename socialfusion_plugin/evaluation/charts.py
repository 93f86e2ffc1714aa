"""PNG charts of the report and the transfer table (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

from ..atomic_files import atomic_output


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_bars(recall: Mapping[str, Optional[float]], title: str, out: Path) -> Path:
    """Horizontal bars, one per class; classes without references are shown as 'n/a'."""
    plt = _pyplot()
    names = list(recall)
    values = [recall[n] if recall[n] is not None else 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(6, max(2.0, 0.28 * len(names) + 1)))
    ax.barh(range(len(names)), values, color="#4C72B0")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([n if recall[n] is not None else f"{n} (n/a)" for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, plt, out)


def confusion_plot(confusion: Mapping[str, Any], title: str, out: Path) -> Path:
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(confusion["counts"], dtype=float)
    rows, columns = confusion["rows"], confusion["columns"]
    size = max(3.0, 0.3 * max(len(rows), len(columns)) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(rows) <= 12:
        for i in range(len(rows)):
            for j in range(len(columns)):
                ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, plt, out)


def transfer_bars(rows: Sequence[Dict[str, Any]], out: Path) -> Path:
    """Relative change (joint vs single, sign-corrected: positive = better) per task."""
    plt = _pyplot()
    names = [r["task"] for r in rows]
    values = [r["relative_change"] if r["relative_change"] is not None else 0.0 for r in rows]
    colors = ["#55A868" if v >= 0 else "#C44E52" for v in values]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.0 * len(names) + 2), 3.5))
    ax.bar(range(len(names)), [100 * v for v in values], color=colors)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("relative change, % (positive = joint better)")
    ax.set_title("single-task vs joint training")
    fig.tight_layout()
    return _save(fig, plt, out)


def _save(fig, plt, out: Path) -> Path:
    out = Path(out)
    try:
        with atomic_output(out, binary=True) as handle:
            fig.savefig(handle, dpi=100, format="png")
    finally:
        plt.close(fig)
    return out

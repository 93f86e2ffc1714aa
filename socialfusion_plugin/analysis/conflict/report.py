"""Conflict results as files: conflict.json, a heatmap per checkpoint (all / connector / LoRA
panels) and, for several checkpoints, a trend of mean cosine and negative share."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ..plots import _pyplot, line_panels

PANELS = ("all", "connector", "lora")


def write_conflict_report(result: Dict[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "conflict.json"}
    written["json"].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for index, checkpoint in enumerate(result["checkpoints"]):
        name = f"conflict_heatmap_{index:02d}.png" if len(result["checkpoints"]) > 1 else "conflict_heatmap.png"
        written[f"heatmap_{index}"] = _heatmaps(out_dir / name, result["tasks"], checkpoint)
    if len(result["checkpoints"]) > 1:
        written["trend"] = out_dir / "conflict_trend.png"
        _trend(written["trend"], result["checkpoints"])
    return written


def _heatmaps(path: Path, tasks, checkpoint: Dict[str, Any]) -> Path:
    plt = _pyplot()
    groups = [g for g in PANELS if g in checkpoint["groups"]]
    size = 1.6 + 0.7 * len(tasks)
    fig, axes = plt.subplots(1, len(groups), figsize=(size * len(groups), size + 0.6), squeeze=False)
    for position, (ax, group) in enumerate(zip(axes[0], groups)):
        data = checkpoint["groups"][group]
        matrix = np.array([[np.nan if v is None else v for v in row] for row in data["matrix"]], dtype=float)
        image = ax.imshow(matrix, cmap="coolwarm_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(tasks)), labels=tasks, rotation=40, ha="right")
        ax.set_yticks(range(len(tasks)), labels=tasks if position == 0 else [""] * len(tasks))  # shared rows
        for i in range(len(tasks)):
            for j in range(len(tasks)):
                text = "n/a" if np.isnan(matrix[i, j]) else f"{matrix[i, j]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="black" if np.isnan(matrix[i, j]) or abs(matrix[i, j]) < 0.6 else "white")
        share = data["negative_share"]
        ax.set_title(f"{group}\nnegative pairs: {'n/a' if share is None else f'{share:.0%}'}", fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="gradient cosine")
    fig.suptitle(Path(checkpoint["model_path"]).name, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _trend(path: Path, checkpoints) -> Path:
    use_steps = all(c["step"] is not None for c in checkpoints)
    panels: Dict[str, Dict[str, list]] = {"mean cosine": {}, "negative share": {}}
    for index, checkpoint in enumerate(checkpoints):
        x = checkpoint["step"] if use_steps else index
        for group in PANELS:
            data = checkpoint["groups"].get(group)
            if not data:
                continue
            for panel, key in (("mean cosine", "mean_cosine"), ("negative share", "negative_share")):
                if data[key] is not None:
                    panels[panel].setdefault(group, []).append((x, data[key]))
    return line_panels(path, panels, "step" if use_steps else "checkpoint (order given)", "", "gradient conflict over training")


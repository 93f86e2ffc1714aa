"""Conflict results as files: conflict.json, a heatmap per checkpoint (all / connector / LoRA
panels, one colorbar) named after the checkpoint, and, for several checkpoints, a trend of mean
cosine and negative share. Every chart is a PNG with a PDF copy."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ...plots import checkpoint_name, heatmap_panels, line_panels, safe_file_part, save_figure

PANELS = ("all", "connector", "lora")


def heatmap_file_name(index: int, count: int, model_path: str) -> str:
    """`conflict_heatmap_<checkpoint>.png`; with several checkpoints their order comes first
    (`conflict_heatmap_00_<checkpoint>.png`), which also keeps two same-named folders apart."""
    name = safe_file_part(checkpoint_name(model_path))
    return f"conflict_heatmap_{index:02d}_{name}.png" if count > 1 else f"conflict_heatmap_{name}.png"


def write_conflict_report(result: Dict[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "conflict.json"}
    written["json"].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    count = len(result["checkpoints"])
    for index, checkpoint in enumerate(result["checkpoints"]):
        path = out_dir / heatmap_file_name(index, count, checkpoint["model_path"])
        save_figure(_heatmaps(result["tasks"], checkpoint), path)
        written[f"heatmap_{index}"] = path
    if count > 1:
        written["trend"] = out_dir / "conflict_trend.png"
        save_figure(_trend(result["checkpoints"]), written["trend"])
    return written


def _heatmaps(tasks, checkpoint: Dict[str, Any]):
    panels = []
    for group in (g for g in PANELS if g in checkpoint["groups"]):
        data = checkpoint["groups"][group]
        matrix = np.array([[np.nan if v is None else v for v in row] for row in data["matrix"]], dtype=float)
        share = data["negative_share"]
        panels.append((f"{group}\nnegative pairs: {'n/a' if share is None else f'{share:.0%}'}", matrix))
    step = checkpoint.get("step")
    title = f"gradient cosine between tasks: {checkpoint_name(checkpoint['model_path'])}" + (
        f" (step {step})" if step is not None else "")
    return heatmap_panels(panels, tasks, title, "gradient cosine (-1 opposed, +1 aligned)", (-1.0, 1.0))


def _trend(checkpoints):
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
    return line_panels(panels, "step" if use_steps else "checkpoint (order given)", "",
                       "gradient conflict over training",
                       ylabels={"mean cosine": "mean gradient cosine", "negative share": "share of negative pairs"})

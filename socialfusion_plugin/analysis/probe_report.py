"""Probe results as files: JSON (everything), Markdown (the primary metric, configuration x task)
and charts, each a PNG with a PDF copy: the same table as a heatmap with a colorbar; the primary
metric against layer when layers were swept."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from ..plots import heatmap, line_panels, save_figure
from .probe_run import short_encoder_name


def _row_label(row: Dict[str, Any]) -> Tuple:
    return (short_encoder_name(row["encoder"]), row["layer"], row["pooling"], row["region"])


def result_table(results: List[Dict[str, Any]]):
    """(row labels, task names, values matrix with NaN where a metric is undefined)."""
    rows = list(dict.fromkeys(_row_label(row) for row in results))  # in order of first appearance
    tasks = list(dict.fromkeys(row["task"] for row in results))
    values = np.full((len(rows), len(tasks)), np.nan)
    for row in results:
        if row["value"] is not None and not math.isnan(row["value"]):
            values[rows.index(_row_label(row)), tasks.index(row["task"])] = row["value"]
    return rows, tasks, values


def markdown_table(results: List[Dict[str, Any]]) -> str:
    rows, tasks, values = result_table(results)
    metric = {row["task"]: row["primary_metric"] for row in results}
    header = "| encoder | layer | pooling | region | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |"
    lines = [header, "|" + " --- |" * (4 + len(tasks))]
    for label, row_values in zip(rows, values):
        cells = ["n/a" if np.isnan(v) else f"{v:.3f}" for v in row_values]
        lines.append(f"| {label[0]} | {label[1]} | {label[2]} | {label[3]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_probe_report(result: Dict[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "probe_results.json", "markdown": out_dir / "probe_results.md",
               "chart": out_dir / "probe_chart.png"}
    written["json"].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written["markdown"].write_text(markdown_table(result["results"]), encoding="utf-8")
    rows, tasks, values = result_table(result["results"])
    labels = [f"{enc} L{layer} {pool} {region}" for enc, layer, pool, region in rows]
    metric = {row["task"]: (row["primary_metric"], row.get("higher_is_better", True)) for row in result["results"]}
    columns = [f"{t}\n{metric[t][0]} {'↑' if metric[t][1] else '↓'}" for t in tasks]
    save_figure(heatmap(values, labels, columns, "linear-probe decodability (test split; n/a: undefined)",
                        "test value of each task's primary metric", xlabel="task, metric (↑ higher is better)",
                        ylabel="encoder, layer, pooling, region"), written["chart"])
    if len(result["config"]["layers"]) > 1:
        written["layers_chart"] = out_dir / "probe_layers.png"
        panels: Dict[str, Dict[str, list]] = {}
        for row in result["results"]:
            if row["value"] is None:
                continue
            series = f"{short_encoder_name(row['encoder'])} {row['pooling']} {row['region']}"
            panels.setdefault(f"{row['task']} ({row['primary_metric']})", {}).setdefault(series, []).append(
                (row["layer"], row["value"]))
        save_figure(line_panels(panels, "layer", "test metric", "probe metric by layer"), written["layers_chart"])
    return written

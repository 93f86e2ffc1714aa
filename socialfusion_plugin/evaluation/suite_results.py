"""The results table of `eval-suite`: one row per task (its primary metric, counts, mode, split),
with what produced it (the command, the checkpoint's fingerprint, package versions), written as
RUN/eval/results.json, results.md and results.csv beside the per-task predictions and metrics."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Mapping

from ..atomic_files import atomic_write_json, atomic_write_text
from .layout import RunLayout
from .provenance import weights_fingerprint
from .report import n_text, value_text
from .run_info import software_versions, versions_text
from .suite_config import Suite

# limit / available: a limited evaluation scored the first `limit` of the `available` records
CSV_COLUMNS = ("task", "split", "mode", "n", "limit", "available", "unparsed", "missing", "extra", "metric",
               "higher_is_better", "value", "predictions", "data")


def results_table(suite: Suite, report: Mapping[str, Any], command: str, model_path: Path, model_base,
                  world_size: int) -> Dict[str, Any]:
    rows: List[Dict[str, Any]] = []
    for entry in suite.entries:
        scored = report["tasks"][entry.task]
        rows.append({
            "task": entry.task, "split": entry.split, "mode": entry.mode, "n": scored["n"],
            "unparsed": scored["unparsed"], "missing": scored["missing"], "extra": scored["extra"],
            "metric": scored["primary_metric"], "higher_is_better": scored["higher_is_better"],
            "value": scored["primary_value"], "metrics": scored["metrics"],
            "predictions": f"{entry.task}.preds.jsonl", "data": str(Path(entry.data).resolve()),
            "options": dict(entry.options), "limit": entry.limit, "available": scored.get("available"),
        })
    return {
        "command": command, "suite": suite.source,
        "checkpoint": {"model_path": str(Path(model_path).resolve()),
                       "model_path_weights": weights_fingerprint(model_path),
                       "model_base": str(Path(model_base).resolve()) if model_base else None,
                       "model_base_weights": weights_fingerprint(model_base)},
        "versions": software_versions(), "processes": world_size, "rows": rows,
    }


def markdown(table: Mapping[str, Any]) -> str:
    checkpoint = table["checkpoint"]
    lines = ["# Evaluation results", "", f"Checkpoint: `{checkpoint['model_path']}`"
             + (f" on base `{checkpoint['model_base']}`" if checkpoint["model_base"] else ""), "",
             "| task | split | mode | n | metric | value | unparsed | missing |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in table["rows"]:
        arrow = "↑" if row["higher_is_better"] else "↓"
        lines.append(f"| {row['task']} | {row['split']} | {row['mode']} | {n_text(row)} | {row['metric']} {arrow} | "
                     f"{value_text(row['value'])} | {row['unparsed']} | {row['missing']} |")
    weights = checkpoint["model_path_weights"]
    lines += ["", "## Provenance", "", f"- command: `{table['command']}`", f"- suite: {table['suite']}",
              f"- processes: {table['processes']}"]
    if isinstance(weights, dict):
        lines += [f"- weights: `{name}` {fingerprint}" for name, fingerprint in weights.items()]
    lines.append("- versions: " + versions_text(table["versions"]))
    return "\n".join(lines) + "\n"


def csv_text(table: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table["rows"]:
        writer.writerow({key: ("" if row[key] is None else row[key]) for key in CSV_COLUMNS})
    return buffer.getvalue()


def write_results(table: Mapping[str, Any], run_dir: Path) -> Dict[str, Path]:
    layout = RunLayout(run_dir)
    paths = {kind: layout.eval_dir / f"results.{kind}" for kind in ("json", "md", "csv")}
    atomic_write_json(paths["json"], table)
    atomic_write_text(paths["md"], markdown(table))
    atomic_write_text(paths["csv"], csv_text(table))
    return paths

"""The transfer table: each task's primary metric after single-task training vs after joint
training, read from the runs' RUN/eval/<task>.metrics.json files.

relative change = (joint - single) / |single|, with the sign flipped for lower-is-better metrics,
so a positive value always means the joint model is better (positive transfer) and a negative one
is flagged as negative transfer. The mean is over tasks where the change is defined.

A side whose answers are mostly unparsed or missing (more than compare.MOSTLY_UNPARSED of them) has
the scorer's floor value, not a measurement: its change is undefined and the row, the chart and the
printed line say "no parseable answers (k/n)" instead of any transfer.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .. import registry
from ..atomic_files import atomic_write_json, atomic_write_text
from .. import plots
from .compare import MOSTLY_UNPARSED, NO_PARSEABLE
from .layout import RunLayout
from socialfusion_plugin.errors import UserInputError


def read_primary(run_dir: Path, task_name: str) -> Dict[str, Any]:
    task = registry.TASKS.get(task_name)
    path = RunLayout(run_dir).metrics(task_name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `socialfusion report {run_dir}` after evaluating {task_name}")
    scored = json.loads(path.read_text(encoding="utf-8"))
    metrics = scored.get("metrics", {})
    if task.primary_metric not in metrics:
        raise UserInputError(f"{path}: no metric {task.primary_metric!r} (the primary metric of {task_name})")
    counts = [scored.get(key) for key in ("n", "unparsed", "missing")]
    n, unparsed, missing = (int(v) if isinstance(v, int) else None for v in counts)
    unanswered = None if n is None or unparsed is None else unparsed + (missing or 0)
    return {"value": metrics[task.primary_metric], "metric": task.primary_metric,
            "higher_is_better": task.higher_is_better, "file": str(path), "n": n, "unanswered": unanswered}


def unparsed_text(side: Mapping[str, Any]) -> str:
    """"k/n": answers unparsed or missing of all; "?" for a metrics file without the counts."""
    return "?" if side.get("unanswered") is None else f"{side['unanswered']}/{side['n']}"


def mostly_unparsed(side: Mapping[str, Any]) -> bool:
    return side.get("unanswered") is not None and side["unanswered"] > MOSTLY_UNPARSED * side["n"]


def relative_change(single: Optional[float], joint: Optional[float], higher_is_better: bool) -> Optional[float]:
    if single is None or joint is None or single == 0:
        return None
    change = (joint - single) / abs(single)
    return change if higher_is_better else -change


def transfer_table(single_runs: Mapping[str, Path], joint_run: Path,
                   tasks: Optional[List[str]] = None) -> Dict[str, Any]:
    names = tasks or list(single_runs)
    rows = []
    for name in names:
        if name not in single_runs:
            raise UserInputError(f"no single-task run given for task {name!r} (--single {name}=RUN)")
        single = read_primary(single_runs[name], name)
        joint = read_primary(joint_run, name)
        unreadable = [f"{NO_PARSEABLE} ({unparsed_text(side)}) from {which}"
                      for which, side in (("single", single), ("joint", joint)) if mostly_unparsed(side)]
        change = None if unreadable else relative_change(single["value"], joint["value"], single["higher_is_better"])
        rows.append({
            "task": name, "metric": single["metric"], "higher_is_better": single["higher_is_better"],
            "single": single["value"], "joint": joint["value"], "relative_change": change,
            "negative_transfer": change is not None and change < 0,
            "single_unparsed": unparsed_text(single), "joint_unparsed": unparsed_text(joint),
            "no_parseable_answers": "; ".join(unreadable) or None,
            "single_run": str(single_runs[name]), "joint_run": str(joint_run),
        })
    defined = [r["relative_change"] for r in rows if r["relative_change"] is not None]
    return {
        "rows": rows,
        "mean_relative_change": sum(defined) / len(defined) if defined else None,
        "tasks_with_negative_transfer": [r["task"] for r in rows if r["negative_transfer"]],
        "undefined": [r["task"] for r in rows if r["relative_change"] is None and not r["no_parseable_answers"]],
        "no_parseable_answers": [r["task"] for r in rows if r["no_parseable_answers"]],
        "mostly_unparsed_threshold": MOSTLY_UNPARSED,
    }


def markdown(table: Mapping[str, Any]) -> str:
    def fmt(v, percent=False):
        if v is None:
            return "n/a"
        return f"{100 * v:+.2f}%" if percent else f"{v:.4f}"

    lines = ["# Transfer: single-task vs joint training", "",
             "| task | metric | single | unparsed | joint | unparsed | relative change | |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table["rows"]:
        arrow = "↑" if r["higher_is_better"] else "↓"
        flag = r.get("no_parseable_answers") or ("NEGATIVE TRANSFER" if r["negative_transfer"] else "")
        lines.append(f"| {r['task']} | {r['metric']} {arrow} | {fmt(r['single'])} | {r.get('single_unparsed', '?')} | "
                     f"{fmt(r['joint'])} | {r.get('joint_unparsed', '?')} | {fmt(r['relative_change'], True)} | "
                     f"{flag} |")
    lines += ["", f"Mean relative change: {fmt(table['mean_relative_change'], True)} "
                  "(positive = joint better; sign flipped for lower-is-better metrics)."]
    if table["tasks_with_negative_transfer"]:
        lines.append(f"Negative transfer on: {', '.join(table['tasks_with_negative_transfer'])}.")
    if table.get("no_parseable_answers"):
        lines.append(f"No transfer measured (more than {MOSTLY_UNPARSED:.0%} of a side's answers unparsed or missing: "
                     f"its metric is the scorer's floor value): {', '.join(table['no_parseable_answers'])}.")
    lines.append("unparsed: answers unparsed or missing, of all answers.")
    if table["undefined"]:
        lines.append(f"Undefined change (missing value or zero single-task metric): {', '.join(table['undefined'])}.")
    return "\n".join(lines) + "\n"


def write_transfer(table: Mapping[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "transfer.json", "md": out_dir / "transfer.md", "png": out_dir / "transfer.png"}
    atomic_write_json(paths["json"], table)
    atomic_write_text(paths["md"], markdown(table))
    rows = table["rows"]
    joint = plots.checkpoint_name(rows[0]["joint_run"]) if rows else ""
    figure = plots.signed_change_bars(
        [r["task"] for r in rows], [r["relative_change"] for r in rows],
        plots.checkpoint_title("joint vs single-task training (n/a: change undefined)", f"joint: {joint}"),
        "relative change of the primary metric, %\n(positive = joint better)",
        notes=[f"{r['metric']} {'↑' if r['higher_is_better'] else '↓'}" for r in rows],
        undefined_notes=[_chart_note(r.get("no_parseable_answers")) for r in rows])
    paths["pdf"] = plots.save_figure(figure, paths["png"])[1]
    return paths


def _chart_note(text: Optional[str]) -> Optional[str]:
    """The row's "no parseable answers (k/n) from side" on two lines, as the chart writes it."""
    return None if not text else text.replace(" from ", "\nfrom ").replace("; ", "\n")

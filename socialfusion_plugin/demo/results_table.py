"""The demo's results: per task its primary metric for the untrained model, the joint model, the
single-task model and chance, with how sure each comparison is (noise.py), as a console table and
as results.md / results.json in the demo folder.

Verdicts follow the 95% intervals, never the sign alone: a difference whose interval contains 0 is
reported as within noise for that many test samples, not as transfer or as learning."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..registry import TASKS
from ..tasks.scoring import load_references
from . import chance, noise


@dataclass
class TaskResult:
    task: str
    metric: str
    n: int
    values: Dict[str, Optional[float]]  # "untrained", "joint", "single", "chance"
    chance_answer: str
    differences: Dict[str, Optional[noise.Difference]] = field(default_factory=dict)  # "joint-untrained", ...


COLUMNS = ("untrained", "joint", "single", "chance")
COMPARISONS = (("joint", "untrained"), ("joint", "chance"), ("joint", "single"))


def task_result(task_name: str, test_json: Path, train_json: Path, predictions: Dict[str, Optional[Path]],
                seed: int) -> TaskResult:
    """predictions: column -> predictions file of that evaluation (None: not run)."""
    task = TASKS.get(task_name)
    references = load_references(test_json, task)
    runs: Dict[str, noise.ParsedRun] = {}
    for column, path in predictions.items():
        if path is not None:
            runs[column] = noise.parse_predictions_file(task, references, path)
    answer = chance.constant_answer(chance.training_answers(train_json, task))
    runs["chance"] = noise.parse_run(task, references, chance.constant_predictions(references, answer))
    name = task.primary_metric
    values = {column: (noise.metric(task, runs[column], name) if column in runs else None) for column in COLUMNS}
    result = TaskResult(task_name, name, len(references), values, answer)
    for first, second in COMPARISONS:
        if first in runs and second in runs:
            result.differences[f"{first}-{second}"] = noise.paired_difference(task, runs[first], runs[second], name,
                                                                             seed=seed)
    return result


def _cell(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table_lines(results: List[TaskResult]) -> List[str]:
    header = f"{'task':<11}{'metric':<10}{'n':>4}  " + "".join(f"{c:>10}" for c in COLUMNS)
    lines = [header]
    for r in results:
        lines.append(f"{r.task:<11}{r.metric:<10}{r.n:>4}  " + "".join(f"{_cell(r.values[c]):>10}" for c in COLUMNS))
    return lines


def verdict(difference: Optional[noise.Difference], above: str, below: str) -> str:
    if difference is None:
        return "not measurable (metric undefined)"
    if difference.within_noise:
        return f"within noise: {difference.describe()}"
    return f"{above if difference.value > 0 else below}: {difference.describe()}"


def summary_lines(results: List[TaskResult]) -> List[str]:
    lines = []
    for r in results:
        learned = verdict(r.differences.get("joint-untrained"), "above untrained", "below untrained")
        over_chance = verdict(r.differences.get("joint-chance"), "above chance", "below chance")
        lines.append(f"{r.task:<11}joint vs untrained {learned}")
        lines.append(f"{'':<11}joint vs chance    {over_chance}")
        if "joint-single" in r.differences:
            lines.append(f"{'':<11}joint vs single    "
                         + verdict(r.differences["joint-single"], "positive transfer", "negative transfer"))
    return lines


def to_json(results: List[TaskResult]) -> Dict:
    return {"columns": list(COLUMNS),
            "chance": "score of one fixed answer for every test sample: the training split's most frequent "
                      "answer (mean point for gaze tasks)",
            "intervals": "95% paired bootstrap over the test samples",
            "tasks": [{"task": r.task, "metric": r.metric, "n": r.n, "values": r.values,
                       "chance_answer": r.chance_answer, "comparisons": noise.summarize(r.differences)}
                      for r in results]}


def to_markdown(results: List[TaskResult]) -> str:
    lines = ["| task | metric | n | " + " | ".join(COLUMNS) + " |", "|---|---|---|" + "---|" * len(COLUMNS)]
    for r in results:
        lines.append(f"| {r.task} | {r.metric} | {r.n} | " + " | ".join(_cell(r.values[c]) for c in COLUMNS) + " |")
    lines += ["", "chance: one fixed answer for every test sample (the training split's most frequent answer; "
              "mean point for gaze tasks), scored by the task's scorer.", "",
              "Comparisons (95% paired bootstrap intervals over the test samples):", ""]
    lines += [f"    {line}" for line in summary_lines(results)]
    return "\n".join(lines) + "\n"


def write(results: List[TaskResult], out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    (out_dir / "results.json").write_text(json.dumps(to_json(results), indent=1) + "\n", encoding="utf-8")
    path = out_dir / "results.md"
    path.write_text(to_markdown(results), encoding="utf-8")
    return path

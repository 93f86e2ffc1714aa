"""`socialfusion score`: join predictions to converted references and compute a task's metrics.

Predictions are JSON lines {"id": ..., "text": "<raw model answer>"} with an optional
"scores": {label: score} from ranking mode. An answer the task's parser cannot read, and a
reference with no prediction at all, count as wrong and are counted; scoring never crashes on them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from ..json_records import read_json_list
from .base import Task


class ScoringInputError(ValueError):
    """Malformed predictions or references file."""


def load_references(path: Path, task: Task) -> List[Dict[str, Any]]:
    """Records of `task` from a converted JSON list (other tasks' records are ignored)."""
    path = Path(path)
    data = read_json_list(path, "references file", ScoringInputError)
    records = []
    for index, record in enumerate(data):
        if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("meta"), dict):
            raise ScoringInputError(f"{path}: record {index} has no 'id' or no 'meta' object")
        if record["meta"].get("task") == task.name:
            records.append(record)
    if not records:
        raise ScoringInputError(f"{path}: no records of task {task.name!r}")
    return records


def load_predictions(path: Path) -> Dict[str, Dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} not found")
    predictions: Dict[str, Dict[str, Any]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ScoringInputError(f"{path}:{line_no}: not valid JSON ({err})") from None
            if not isinstance(row, dict) or "id" not in row:
                raise ScoringInputError(f"{path}:{line_no}: a prediction needs an 'id'")
            text = row.get("text", "")
            if not isinstance(text, str):
                raise ScoringInputError(f"{path}:{line_no}: 'text' must be a string")
            scores = row.get("scores")
            if scores is not None and not (
                isinstance(scores, dict) and all(isinstance(v, (int, float)) for v in scores.values())
            ):
                raise ScoringInputError(f"{path}:{line_no}: 'scores' must map labels to numbers")
            predictions[str(row["id"])] = row
    return predictions


def score_predictions(
    task: Task,
    references: List[Dict[str, Any]],
    predictions: Mapping[str, Mapping[str, Any]],
    options: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    opts = task.options(options)
    metas, parsed, class_scores = [], [], []
    unparsed = missing = parser_errors = 0
    for record in references:
        metas.append(record["meta"])
        row = predictions.get(str(record["id"]))
        if row is None:
            missing += 1
            parsed.append(None)
            class_scores.append(None)
            continue
        try:
            value = task.parse_answer(row.get("text", ""), opts)
        except Exception:  # a parser bug must not lose a whole evaluation: count it, score as wrong
            parser_errors += 1
            value = None
        if value is None:
            unparsed += 1
        parsed.append(value)
        class_scores.append(row.get("scores"))
    metrics = task.score(metas, parsed, class_scores, opts)
    result: Dict[str, Any] = {
        "task": task.name,
        "n": len(references),
        "unparsed": unparsed,
        "missing": missing,
        "metrics": metrics,
    }
    if parser_errors:
        result["parser_errors"] = parser_errors
    if task.metric_notes:
        result["notes"] = list(task.metric_notes)
    return result

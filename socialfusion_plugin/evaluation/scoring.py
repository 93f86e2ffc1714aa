"""`socialfusion score`: join predictions to converted references and compute a task's metrics.

Predictions are JSON lines {"id": ..., "text": "<raw model answer>"} with an optional
"scores": {label: score} from ranking mode. An answer the task's parser cannot read, and a
reference with no prediction at all, count as wrong and are counted; scoring never crashes on them.

What is refused, because the numbers would describe nothing (ScoringInputError, with counts):
- an id on two lines (which answer counts would be a guess), a non-finite ranking score (NaN or
  infinity: no AP can be computed from it), each naming the line;
- predictions that cover fewer than half of the references they were made for (MIN_COVERAGE): they
  belong to another task, split or conversion, or the evaluation stopped early;
- lines that name another task (a "task" key).
Predictions whose id is not among the references are counted as `extra` and not scored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .prediction_file import prediction_lines
from ..json_records import read_json_list
from ..tasks.base import AnswerDataError, Task
from socialfusion_plugin.errors import UserInputError


class ScoringInputError(UserInputError):
    """Malformed predictions or references file, or predictions that do not belong to the references."""


MIN_COVERAGE = 0.5  # share of the references that must have a prediction


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
    first_line: Dict[str, int] = {}
    repeated: List[str] = []
    for line in prediction_lines(path):
        line_no, row = line.number, line.row
        if row is None:
            hint = "; save the file as UTF-8" if line.problem.startswith("not UTF-8") else ""
            raise ScoringInputError(f"{path}:{line_no}: {line.problem}{hint}")
        text = row.get("text", "")
        if not isinstance(text, str):
            raise ScoringInputError(f"{path}:{line_no}: 'text' must be a string")
        scores = row.get("scores")
        if scores is not None and not (isinstance(scores, dict)
                                       and all(isinstance(v, (int, float)) for v in scores.values())):
            raise ScoringInputError(f"{path}:{line_no}: 'scores' must map labels to numbers")
        bad = [label for label, value in (scores or {}).items()
               if isinstance(value, float) and not math.isfinite(value)]
        if bad:
            raise ScoringInputError(f"{path}:{line_no}: 'scores' holds a non-finite value for "
                                    f"{', '.join(repr(label) for label in bad[:3])} ({scores[bad[0]]!r}); "
                                    "ranking scores must be finite numbers")
        key = str(row["id"])
        if key in predictions:
            repeated.append(f"{key!r} (lines {first_line[key]} and {line_no})")
            continue
        first_line[key] = line_no
        predictions[key] = row
    if repeated:
        raise ScoringInputError(f"{path}: {len(repeated)} id(s) predicted more than once, e.g. {repeated[0]}; "
                                "which answer counts would be a guess: keep one line per id")
    return predictions


def score_predictions(task: Task, references: List[Dict[str, Any]], predictions: Mapping[str, Mapping[str, Any]],
                      options: Optional[Mapping[str, Any]] = None, expected: Optional[int] = None,
                      source: str = "the predictions") -> Dict[str, Any]:
    """Metrics of `predictions` against `references`. `expected`: how many references (the first
    ones) the predictions were made for, when an evaluation was limited; default all. `source`
    names the predictions in errors."""
    extra = check_predictions_belong(task, references, predictions, expected, source)
    opts = task.options(options)
    answers = parse_predictions(task, references, predictions, opts)
    metrics = task.score([record["meta"] for record in references], answers.parsed, answers.class_scores, opts)
    result: Dict[str, Any] = {"task": task.name, "n": len(references), "unparsed": answers.unparsed,
                              "missing": answers.missing, "extra": extra, "metrics": metrics}
    if answers.parser_errors:
        result["parser_errors"] = answers.parser_errors
    if task.metric_notes:
        result["notes"] = list(task.metric_notes)
    return result


@dataclass
class ParsedAnswers:
    """Each reference's parsed answer (None: missing or unparsed) and ranking scores, with counts."""

    parsed: List[Any] = field(default_factory=list)
    class_scores: List[Optional[Mapping[str, float]]] = field(default_factory=list)
    unparsed: int = 0
    missing: int = 0
    parser_errors: int = 0


def parse_predictions(task: Task, references: List[Dict[str, Any]],
                      predictions: Mapping[str, Mapping[str, Any]], opts) -> ParsedAnswers:
    """The task's parser over the prediction of every reference, in reference order."""
    answers = ParsedAnswers()
    for record in references:
        row = predictions.get(str(record["id"]))
        value = None
        if row is None:
            answers.missing += 1
        else:
            try:
                value = task.parse_answer(row.get("text", ""), opts)
            except AnswerDataError:
                raise  # the parser's own data file is broken: every answer would read as unparsed
            except Exception:  # a parser bug must not lose a whole evaluation: count it, score as wrong
                answers.parser_errors += 1
            if value is None:
                answers.unparsed += 1
        answers.parsed.append(value)
        answers.class_scores.append(None if row is None else row.get("scores"))
    return answers


def check_predictions_belong(task: Task, references: List[Dict[str, Any]],
                             predictions: Mapping[str, Mapping[str, Any]], expected: Optional[int] = None,
                             source: str = "the predictions") -> int:
    """The number of predictions whose id is not among the references (`extra`); raises when the
    predictions name another task, or cover fewer than MIN_COVERAGE of the expected references."""
    other_task = [row.get("task") for row in predictions.values()
                  if row.get("task") is not None and row.get("task") != task.name]
    if other_task:
        raise ScoringInputError(f"{source}: {len(other_task)} of {len(predictions)} predictions are for task "
                                f"{other_task[0]!r}, not {task.name!r}")
    reference_ids = {str(record["id"]) for record in references}
    matched = sum(1 for key in predictions if key in reference_ids)
    extra = len(predictions) - matched
    expected = len(references) if expected is None else max(1, min(int(expected), len(references)))
    if matched < MIN_COVERAGE * expected:
        limited = "" if expected == len(references) else f" (the evaluation was limited to the first {expected})"
        raise ScoringInputError(
            f"{source}: only {matched} of the {expected} {task.name} references{limited} have a prediction, "
            f"and {extra} of the {len(predictions)} predictions have an id that is not among the references; "
            f"scoring needs at least {MIN_COVERAGE:.0%} of them covered. Are these predictions of another task, "
            "split or conversion, or did the evaluation stop early (resume it)?")
    return extra

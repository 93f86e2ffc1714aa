"""Per-class views of a task's predictions for the report, as its answer space gives them: a
confusion matrix where each record has one decision (a single label, or an in/out decision), and
per-class recall (also of multi-label answers)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..tasks.base import Task, TaskOptions

UNPARSED = "(unparsed)"
OTHER = "(other)"


def single_label_pairs(task: Task, options: TaskOptions, metas: Sequence[Mapping[str, Any]],
                       parsed: Sequence[Any], scores: Sequence[Optional[Mapping[str, float]]]
                       ) -> Optional[Tuple[List[str], List[Tuple[str, str]]]]:
    """(classes, [(truth, predicted)]) or None when the task's answer space has no single decision
    per record; an unparsed answer is predicted "(unparsed)", one outside the classes "(other)"."""
    decisions = task.answer_space.class_decisions(options, metas, parsed, scores)
    if decisions is None:
        return None
    classes, pairs = decisions
    return classes, [(truth, _column(predicted, classes)) for truth, predicted in pairs]


def _column(predicted: Optional[str], classes: Sequence[str]) -> str:
    if predicted is None:
        return UNPARSED
    return predicted if predicted in classes else OTHER


def multi_label_sets(task: Task, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]
                     ) -> Optional[Tuple[List[List[str]], List[Optional[List[str]]]]]:
    """(true label sets, predicted label sets); None where the task's answer is not a label set."""
    return task.answer_space.label_sets(metas, parsed)


def confusion_matrix(classes: Sequence[str], pairs: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """Rows: true classes; columns: the classes, then "(other)" and "(unparsed)" when they occur."""
    columns = list(classes) + [c for c in (OTHER, UNPARSED) if any(p == c for _, p in pairs)]
    row_index = {c: i for i, c in enumerate(classes)}
    col_index = {c: i for i, c in enumerate(columns)}
    matrix = [[0] * len(columns) for _ in classes]
    for truth, predicted in pairs:
        if truth in row_index:
            matrix[row_index[truth]][col_index.get(predicted, col_index.get(OTHER, 0))] += 1
    return {"rows": list(classes), "columns": columns, "counts": matrix}


def recall_from_confusion(confusion: Mapping[str, Any]) -> Dict[str, Optional[float]]:
    recall: Dict[str, Optional[float]] = {}
    for i, name in enumerate(confusion["rows"]):
        total = sum(confusion["counts"][i])
        hit = confusion["counts"][i][confusion["columns"].index(name)]
        recall[name] = hit / total if total else None
    return recall


def multi_label_recall(classes: Sequence[str], truths: Sequence[Sequence[str]],
                       predicted: Sequence[Optional[Sequence[str]]]) -> Dict[str, Optional[float]]:
    """Per class: the share of records with that label whose predicted set contains it."""
    recall: Dict[str, Optional[float]] = {}
    for name in classes:
        having = [i for i, t in enumerate(truths) if name in t]
        hits = sum(1 for i in having if predicted[i] and name in predicted[i])
        recall[name] = hits / len(having) if having else None
    return recall

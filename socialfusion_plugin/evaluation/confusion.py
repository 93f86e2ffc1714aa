"""Per-class views of a task's predictions for the report: a confusion matrix for single-label
answers (gesture, relation, gaze_video's in/out decision) and per-class recall."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..tasks.base import Task, TaskOptions
from ..tasks.classification_metrics import top_class

UNPARSED = "(unparsed)"
OTHER = "(other)"
IN_OUT = ("in frame", "out of frame")


def single_label_pairs(task: Task, options: TaskOptions, metas: Sequence[Mapping[str, Any]],
                       parsed: Sequence[Any], scores: Sequence[Optional[Mapping[str, float]]]
                       ) -> Optional[Tuple[List[str], List[Tuple[str, str]]]]:
    """(classes, [(truth, predicted)]) or None when the task has no single label per record.
    Ranking scores decide the predicted class where given, as in scoring."""
    if task.name == "gaze_video":
        pairs = [(IN_OUT[0] if m.get("in_frame") else IN_OUT[1], _in_out(p, s)) for m, p, s in zip(metas, parsed, scores)]
        return list(IN_OUT), pairs
    classes = task.label_names(options)
    if not classes or not metas:
        return None
    first = task.probe_target(metas[0])
    if first is None or first[0] != "single":
        return None
    pairs = []
    for meta, value, score in zip(metas, parsed, scores):
        target = task.probe_target(meta)
        predicted = top_class(value if isinstance(value, str) else None, score, classes)
        if predicted is None:
            predicted = UNPARSED
        elif predicted not in classes:
            predicted = OTHER
        pairs.append((target[1], predicted))
    return list(classes), pairs


def _in_out(parsed: Any, scores: Optional[Mapping[str, float]]) -> str:
    if scores and all(k in scores for k in IN_OUT):
        return IN_OUT[0] if scores[IN_OUT[0]] >= scores[IN_OUT[1]] else IN_OUT[1]
    if not isinstance(parsed, Mapping):
        return UNPARSED
    return IN_OUT[0] if parsed.get("in_frame") else IN_OUT[1]


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

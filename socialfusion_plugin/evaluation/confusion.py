"""Per-class views of a task's predictions for the report, chosen by its answer space: a confusion
matrix for a single label or an in/out decision, and per-class recall (also of multi-label answers)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..tasks.answer_space import MultiLabel, PointOrOutside, SingleLabel
from ..tasks.base import Task, TaskOptions
from ..tasks.classification_metrics import top_class

UNPARSED = "(unparsed)"
OTHER = "(other)"


def single_label_pairs(task: Task, options: TaskOptions, metas: Sequence[Mapping[str, Any]],
                       parsed: Sequence[Any], scores: Sequence[Optional[Mapping[str, float]]]
                       ) -> Optional[Tuple[List[str], List[Tuple[str, str]]]]:
    """(classes, [(truth, predicted)]) or None when the task's answer space has no single decision
    per record: a SingleLabel's label, or a PointOrOutside's in/out decision. Ranking scores decide
    the predicted class where given, as in scoring."""
    space = task.answer_space
    if isinstance(space, PointOrOutside):
        pairs = [(space.truth_decision(m), space.predicted_decision(p, s) or UNPARSED)
                 for m, p, s in zip(metas, parsed, scores)]
        return list(space.decision_labels), pairs
    if not isinstance(space, SingleLabel) or not metas:
        return None
    classes = space.label_names(options)
    pairs = []
    for meta, value, score in zip(metas, parsed, scores):
        predicted = top_class(space.predicted_label(value), score, classes)
        if predicted is None:
            predicted = UNPARSED
        elif predicted not in classes:
            predicted = OTHER
        pairs.append((space.truth_label(meta), predicted))
    return list(classes), pairs


def multi_label_sets(task: Task, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]
                     ) -> Optional[Tuple[List[List[str]], List[Optional[List[str]]]]]:
    """(true label sets, predicted label sets) of a MultiLabel task; None for other answer spaces."""
    space = task.answer_space
    if not isinstance(space, MultiLabel) or not metas:
        return None
    return [space.truth_labels(m) for m in metas], [space.predicted_labels(p) for p in parsed]


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

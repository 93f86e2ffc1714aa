"""Metrics shared by the closed-set tasks: mean average precision from per-class scores, and the
one-hot scores a text-only answer implies.

A class with no positive example in the references has no defined AP: it is left out of the mean
and listed under `classes_without_positives`, instead of silently counting as 0 or 1.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, Mapping, Optional, Sequence

import numpy as np


def label_matrix(labels: Sequence[Iterable[str]], classes: Sequence[str]) -> np.ndarray:
    """(n, C) 0/1 matrix from each example's set of labels."""
    index = {name: i for i, name in enumerate(classes)}
    matrix = np.zeros((len(labels), len(classes)), dtype=np.int8)
    for row, names in enumerate(labels):
        for name in names:
            matrix[row, index[name]] = 1
    return matrix


def score_matrix(predicted: Sequence[Optional[Iterable[str]]], class_scores: Sequence[Optional[Mapping[str, float]]],
                 classes: Sequence[str]) -> np.ndarray:
    """(n, C) scores: real per-class scores where given (ranking mode), else one-hot of the parsed
    answer (1 for each predicted label, 0 otherwise); an unparseable answer scores 0 everywhere."""
    matrix = np.zeros((len(predicted), len(classes)), dtype=np.float64)
    index = {name: i for i, name in enumerate(classes)}
    for row, (labels, scores) in enumerate(zip(predicted, class_scores)):
        for name, value in (scores or {name: 1.0 for name in labels or ()}).items():
            if name in index:
                matrix[row, index[name]] = float(value)
    return matrix


def top_class(parsed: Optional[str], scores: Optional[Mapping[str, float]], classes: Sequence[str]) -> Optional[str]:
    """The single predicted class: the argmax of ranking-mode scores when given (ties go to the
    earlier class in label order), otherwise the parsed text answer."""
    if scores:
        ranked = [(float(scores[name]), -index, name) for index, name in enumerate(classes) if name in scores]
        if ranked:
            return max(ranked)[2]
    return parsed


def per_class_recall(truths: Sequence[str], predictions: Sequence[Optional[str]],
                     classes: Sequence[str]) -> Dict[str, Optional[float]]:
    """Per class: the share of its references predicted as it (None for a class without references)."""
    positives = Counter(truths)
    hits = Counter(truth for truth, predicted in zip(truths, predictions) if predicted == truth)
    return {name: (hits[name] / positives[name] if positives[name] else None) for name in classes}


def mean_average_precision(y_true: np.ndarray, scores: np.ndarray, classes: Sequence[str]) -> Dict[str, object]:
    """Mean over classes of sklearn's average_precision_score (one class vs. rest)."""
    from sklearn.metrics import average_precision_score

    per_class: Dict[str, Optional[float]] = {
        name: float(average_precision_score(y_true[:, column], scores[:, column])) if y_true[:, column].sum() else None
        for column, name in enumerate(classes)}
    values = [ap for ap in per_class.values() if ap is not None]
    return {
        "mean_ap": float(np.mean(values)) if values else None,
        "per_class_ap": per_class,
        "classes_without_positives": [name for name, ap in per_class.items() if ap is None],
    }

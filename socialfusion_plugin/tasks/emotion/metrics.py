"""EMOTIC's reference metrics: average precision per category over all persons of the split and
their mean (the benchmark's mAP), the VAD mean absolute error where ratings are predicted, and a
micro F1 of the predicted category sets (what a text-only answer can be judged by directly)."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from ..classification_metrics import label_matrix, mean_average_precision, score_matrix
from .persons import VAD_KEYS

METRIC_NAMES = ("mean_ap", "per_class_ap", "micro_f1", "vad_mae", "vad_n")


def _micro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    true_positives = float(np.sum(truth * predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2.0 * true_positives / denominator if denominator else 0.0


def vad_errors(
    references: Sequence[Mapping[str, Any]], predictions: Sequence[Optional[Mapping[str, Any]]]
) -> Dict[str, Any]:
    """Absolute errors over persons that have both reference and predicted ratings."""
    errors = []
    for reference, prediction in zip(references, predictions):
        truth = reference.get("vad")
        guess = (prediction or {}).get("vad")
        if truth and guess:
            errors.append([abs(float(guess[key]) - float(truth[key])) for key in VAD_KEYS])
    if not errors:
        return {"vad_mae": None, "vad_n": 0}
    per_axis = np.mean(np.asarray(errors), axis=0)
    mae = {key: float(value) for key, value in zip(VAD_KEYS, per_axis)}
    mae["mean"] = float(np.mean(per_axis))
    return {"vad_mae": mae, "vad_n": len(errors)}


def category_metrics(
    truths: Sequence[Sequence[str]],
    predicted_sets: Sequence[Optional[Sequence[str]]],
    class_scores: Sequence[Optional[Mapping[str, float]]],
    classes: Sequence[str],
) -> Dict[str, Any]:
    """mAP (from ranking scores where given, else one-hot of the predicted sets) and micro F1 of
    the true category sets against the predicted ones (None: unparsed)."""
    truth = label_matrix(truths, classes)
    ranking = list(class_scores) if class_scores else [None] * len(truths)
    scores = score_matrix(predicted_sets, ranking, classes)
    ap = mean_average_precision(truth, scores, classes)
    one_hot = score_matrix(predicted_sets, [None] * len(truths), classes)
    return {
        "mean_ap": ap["mean_ap"],
        "per_class_ap": ap["per_class_ap"],
        "classes_without_positives": ap["classes_without_positives"],
        "micro_f1": _micro_f1(truth.astype(np.float64), one_hot),
        "ap_from_class_scores": sum(1 for s in ranking if s),
    }

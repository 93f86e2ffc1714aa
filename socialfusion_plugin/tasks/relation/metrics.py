"""PISC metrics: per-class recall and mAP (mean over classes of sklearn's average precision from
per-class scores), plus accuracy. A text-only answer gives one-hot scores; ranking mode gives real
scores, which also decide the hard prediction (argmax) used by accuracy and recall."""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, Mapping, Optional, Sequence

from ..classification_metrics import label_matrix, mean_average_precision, score_matrix, top_class


def relation_report(
    truths: Sequence[str],
    parsed: Sequence[Optional[str]],
    class_scores: Sequence[Optional[Mapping[str, float]]],
    classes: Sequence[str],
) -> Dict[str, Any]:
    hard = [top_class(p, s, classes) for p, s in zip(parsed, class_scores)]
    hits: Counter = Counter()
    positives: Counter = Counter(truths)
    for truth, predicted in zip(truths, hard):
        if predicted == truth:
            hits[truth] += 1
    recall: Dict[str, Optional[float]] = {
        name: (hits[name] / positives[name] if positives[name] else None) for name in classes
    }
    defined = [value for value in recall.values() if value is not None]
    n = len(truths)
    ap = mean_average_precision(
        label_matrix([[t] for t in truths], classes),
        score_matrix([[p] if p is not None else None for p in parsed], class_scores, classes),
        classes,
    )
    return {
        "n": n,
        "accuracy": sum(hits.values()) / n if n else None,
        "mean_ap": ap["mean_ap"],
        "per_class_ap": ap["per_class_ap"],
        "per_class_recall": recall,
        "mean_recall": sum(defined) / len(defined) if defined else None,
        "classes_without_positives": ap["classes_without_positives"],
    }

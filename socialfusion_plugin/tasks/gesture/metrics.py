"""Full-frame gesture classification metrics, following `torchmetrics.F1Score(task="multiclass")`.

- f1_micro: for single-label classification micro F1 equals accuracy; an unparsed answer is a miss.
- f1_macro: torchmetrics' average="macro": per class F1 = 2tp / (2tp + fp + fn), averaged over the
  classes with tp + fp + fn > 0 (present in the references or the predictions); classes that appear
  in neither are left out of the mean, exactly as torchmetrics weights them 0.
- An unparsed answer, or one naming a class outside the scored label set, adds a false negative to
  its reference class and a false positive to no class (torchmetrics has no "no answer" class).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Sequence


def multiclass_report(
    references: Sequence[str], predictions: Sequence[Optional[str]], classes: Sequence[str]
) -> Dict[str, Any]:
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    known = set(classes)
    for truth, predicted in zip(references, predictions):
        if predicted == truth:
            tp[truth] += 1
            continue
        fn[truth] += 1
        if predicted in known:
            fp[predicted] += 1
    n = len(references)
    accuracy = sum(tp.values()) / n if n else None
    f1_values: List[float] = []
    recall: Dict[str, Optional[float]] = {}
    for name in classes:
        denominator = 2 * tp[name] + fp[name] + fn[name]
        if denominator:
            f1_values.append(2 * tp[name] / denominator)
        positives = tp[name] + fn[name]
        recall[name] = tp[name] / positives if positives else None
    return {
        "n": n,
        "accuracy": accuracy,
        "f1_micro": accuracy,
        "f1_macro": sum(f1_values) / len(f1_values) if f1_values else None,
        "per_class_recall": recall,
    }

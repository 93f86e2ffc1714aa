"""The charts `report` writes for one task, derived from the task's declaration:

- a confusion matrix where the answer is one label of a set (or an in/out decision);
- per-class bars of the metric the task is scored by: `per_class_<m>` when the task's primary
  metric is `mean_<m>` (or `<m>_macro`, `<m>_micro`) and its scores hold it, per-class recall
  otherwise; each class with its support;
- the distribution of the distance error where the answer is a point.

Titles name the evaluated checkpoint; every PNG has a PDF copy beside it."""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import plots
from ..tasks.answer_space import Point, PointOrOutside


def task_charts(layout, task, options, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any],
                metrics: Mapping[str, Any], checkpoint: Optional[str], confusion: Optional[Mapping[str, Any]],
                recall: Optional[Mapping[str, Optional[float]]], truth_sets: Optional[Sequence[Sequence[str]]]) -> List[str]:
    """Write the task's charts into the run's eval folder; returns the PNG file names."""
    written: List[str] = []

    def save(figure, kind: str) -> None:
        written.append(plots.save_figure(figure, layout.chart(task.name, kind))[0].name)

    title = lambda what: plots.checkpoint_title(f"{task.name}: {what}", checkpoint)  # noqa: E731
    if confusion is not None:
        save(plots.confusion_chart(confusion["counts"], confusion["rows"], confusion["columns"], title("confusion")),
             "confusion")
    metric, values = per_class_metric(task, metrics, recall)
    if values:
        support = class_support(confusion, truth_sets)
        labels = list(values)
        shown = metric.upper() if len(metric) <= 3 else metric  # AP, F1; recall
        save(plots.per_class_bars(labels, [values[label] for label in labels],
                                  [support.get(label) for label in labels], shown, title(f"per-class {shown}")),
             metric)
    errors = point_errors(task.answer_space, metas, parsed)
    if errors is not None:
        distances, without = errors
        save(plots.error_distribution(distances, title("distance error, predicted to true point"),
                                      "L2 distance (normalized image coordinates)", without_value=without,
                                      value_range=(0.0, math.sqrt(2.0)),
                                      without_value_note="without a point (scored as the worst value)"),
             "error")
    return written


def per_class_metric(task, metrics: Mapping[str, Any], recall) -> Tuple[str, Optional[Mapping[str, Optional[float]]]]:
    """(metric name, {class: value}): the per-class form of the primary metric where the scores have
    it, else recall."""
    primary = task.primary_metric
    base = primary
    for prefix in ("mean_", "macro_", "micro_"):
        base = base[len(prefix):] if base.startswith(prefix) else base
    for suffix in ("_macro", "_micro", "_mean"):
        base = base[: -len(suffix)] if base.endswith(suffix) else base
    per_class = metrics.get(f"per_class_{base}")
    if isinstance(per_class, Mapping) and per_class:
        return base, per_class
    return "recall", recall


def class_support(confusion: Optional[Mapping[str, Any]], truth_sets) -> Dict[str, int]:
    if confusion is not None:
        return {row: int(sum(counts)) for row, counts in zip(confusion["rows"], confusion["counts"])}
    if truth_sets is not None:
        return dict(Counter(label for labels in truth_sets for label in set(labels)))
    return {}


def _as_point(value: Any) -> Optional[Tuple[float, float]]:
    """A parsed answer's point: the value itself as (x, y), or the one (x, y) pair a mapping holds."""
    if isinstance(value, Mapping):
        found = [p for p in (_as_point(v) for v in value.values() if not isinstance(v, Mapping)) if p]
        return found[0] if len(found) == 1 else None
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    return None


def point_errors(space, metas, parsed) -> Optional[Tuple[List[float], int]]:
    """(distances of the answers that gave a point, how many gave none) over the records whose truth
    is a point; None when the task does not answer with a point."""
    if not isinstance(space, (Point, PointOrOutside)):
        return None
    targets = [space.probe_target(meta) for meta in metas]  # ("point", [x, y]); None: no point is true
    truths = [_as_point(target[1]) if target else None for target in targets]
    distances, without = [], 0
    for truth, answer in zip(truths, parsed):
        if truth is None:
            continue
        point = space.predicted_point(answer)
        if point is None:
            without += 1
        else:
            distances.append(math.dist(point, truth))
    return distances, without

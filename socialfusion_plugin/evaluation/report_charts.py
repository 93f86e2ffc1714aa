"""The charts `report` writes for one task, derived from the task's declaration:

- a confusion matrix where the answer is one label of a set (or an in/out decision);
- per-class bars of the metric the task is scored by: `per_class_<m>` when the task's primary
  metric is `mean_<m>` (or `<m>_macro`, `<m>_micro`) and its scores hold it, per-class recall
  otherwise; each class with its support;
- the distribution of the distance error where the answer is a point (the answer space's
  `point_errors`).

Titles name the evaluated checkpoint; every PNG has a PDF copy beside it."""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import plots


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
    errors = task.answer_space.point_errors(metas, parsed)
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


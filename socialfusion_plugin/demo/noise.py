"""Is a metric difference between two evaluations on the same test samples more than chance? A
paired bootstrap over the test samples (seeded): the samples are drawn with replacement, both
evaluations are scored on the same draw, and the 2.5% and 97.5% quantiles of the difference form
its 95% interval. An interval that contains 0 means the test set is too small to tell the two
apart, whatever the sign of the measured difference.

A metric that is a mean over samples (accuracy, per-person gaze AUC) is scored once per sample and
the draws average those values; any other metric (mean AP) is recomputed on every draw. Which one
applies is checked, not assumed: per-sample values are used only when their mean reproduces the
metric on the whole test set.
"""
from __future__ import annotations

import math
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..tasks.base import Task
from ..tasks.scoring import load_predictions

RESAMPLES = 400


@dataclass
class ParsedRun:
    """One evaluation's answers, aligned with the references."""

    metas: List[Mapping[str, Any]]
    parsed: List[Any]
    scores: List[Optional[Mapping[str, float]]]


@dataclass
class Difference:
    value: float  # on the whole test set
    low: float  # 95% bootstrap interval
    high: float
    n: int

    @property
    def within_noise(self) -> bool:
        return self.low <= 0.0 <= self.high

    def describe(self) -> str:
        return f"{self.value:+.3f} (95% interval {self.low:+.3f} to {self.high:+.3f}, n={self.n})"


def parse_run(task: Task, references: Sequence[Mapping[str, Any]], predictions: Mapping[str, Mapping[str, Any]],
              options=None) -> ParsedRun:
    """As `score` reads them: a missing or unparseable answer is None (wrong)."""
    opts = task.options(options)
    parsed, scores = [], []
    for record in references:
        row = predictions.get(str(record["id"]))
        parsed.append(None if row is None else task.parse_answer(row.get("text", ""), opts))
        scores.append(None if row is None else row.get("scores"))
    return ParsedRun([r["meta"] for r in references], parsed, scores)


def parse_predictions_file(task: Task, references, path: Path) -> ParsedRun:
    return parse_run(task, references, load_predictions(Path(path)))


def metric(task: Task, run: ParsedRun, name: str, indices: Optional[Sequence[int]] = None) -> Optional[float]:
    if indices is None:
        indices = range(len(run.metas))
    result = task.score([run.metas[i] for i in indices], [run.parsed[i] for i in indices],
                        [run.scores[i] for i in indices], task.options())
    value = result.get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def per_sample(task: Task, run: ParsedRun, name: str) -> Optional[List[Optional[float]]]:
    """Each sample's own value of the metric, when the metric is their mean; otherwise None."""
    whole = metric(task, run, name)
    with warnings.catch_warnings():  # one-sample AP warns that a class has no positive: expected here
        warnings.simplefilter("ignore")
        values = [metric(task, run, name, [i]) for i in range(len(run.metas))]
    present = [v for v in values if v is not None]
    if whole is None or not present or abs(sum(present) / len(present) - whole) > 1e-9:
        return None
    return values


def _mean(values: Sequence[Optional[float]], indices: Sequence[int]) -> Optional[float]:
    present = [values[i] for i in indices if values[i] is not None]
    return sum(present) / len(present) if present else None


def paired_difference(task: Task, first: ParsedRun, second: ParsedRun, name: str, seed: int = 0,
                      resamples: int = RESAMPLES) -> Optional[Difference]:
    """first - second on the primary metric `name`, with its 95% paired bootstrap interval; None
    when the metric is undefined on the whole test set for either."""
    whole_first, whole_second = metric(task, first, name), metric(task, second, name)
    if whole_first is None or whole_second is None:
        return None
    values_first, values_second = per_sample(task, first, name), per_sample(task, second, name)
    decomposed = values_first is not None and values_second is not None
    rng = random.Random(f"socialfusion-demo-noise:{task.name}:{seed}")
    n = len(first.metas)
    draws: List[float] = []
    for _ in range(resamples):
        indices = [rng.randrange(n) for _ in range(n)]
        if decomposed:
            a, b = _mean(values_first, indices), _mean(values_second, indices)
        else:
            with warnings.catch_warnings():  # a draw without a positive of some class: AP warns, it is left out
                warnings.simplefilter("ignore")
                a, b = metric(task, first, name, indices), metric(task, second, name, indices)
        if a is not None and b is not None:
            draws.append(a - b)
    if not draws:
        return None
    draws.sort()
    low = draws[int(0.025 * (len(draws) - 1))]
    high = draws[int(math.ceil(0.975 * (len(draws) - 1)))]
    return Difference(whole_first - whole_second, low, high, n)


def summarize(differences: Dict[str, Optional[Difference]]) -> Dict[str, Any]:
    return {key: None if d is None else {"difference": d.value, "low": d.low, "high": d.high, "n": d.n,
                                         "within_noise": d.within_noise}
            for key, d in differences.items()}

"""Linear probes on frozen features, scored with the task's own metrics.

- ("single", label): multinomial logistic regression; the prediction line carries the arg-max label
  as text and every class probability as `scores` (so mAP uses real scores, as in ranking mode).
- ("multi", labels): one-vs-rest logistic regression; `scores` are per-category probabilities and
  the text lists the categories with probability >= 0.5 (the most probable one when none is).
- ("point", [x, y]): ridge regression per coordinate, clamped to [0, 1], answered as "(x, y)".

Features are standardized with statistics of the TRAIN split only. The solvers (lbfgs, closed-form
ridge) are deterministic given the data, so the same features give the same scores.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Sequence

import numpy as np

from ..tasks.geometry import format_point
from ..evaluation.scoring import score_predictions
from socialfusion_plugin.errors import UserInputError


class ProbeError(UserInputError):
    """Training data a probe cannot be fitted on."""


@dataclass(frozen=True)
class ProbeSettings:
    """The fields with help are `socialfusion probe`'s flags (cli/flags.py)."""

    C: float = field(default=1.0, metadata={
        "help": "inverse L2 strength of the logistic probes (default: %(default)g)"})
    ridge_alpha: float = field(default=1.0, metadata={
        "help": "L2 strength of the gaze-point regressor (default: %(default)g)"})
    max_iter: int = 2000
    multi_threshold: float = 0.5

    def __post_init__(self):
        if self.C <= 0 or self.ridge_alpha < 0 or self.max_iter <= 0 or not 0 < self.multi_threshold < 1:
            raise UserInputError(f"invalid probe settings {self}: C > 0, ridge_alpha >= 0, max_iter > 0, 0 < threshold < 1")


def probe_and_score(task, train_x: np.ndarray, train_targets, test_x: np.ndarray,
                    test_records: Sequence[Mapping[str, Any]], settings: ProbeSettings, where: str) -> Dict[str, Any]:
    """The task's own `score` result for a probe trained on (train_x, targets), tested on test_x
    through prediction lines {"id", "text", ["scores"]} as `score` reads them."""
    from sklearn.preprocessing import StandardScaler

    kinds = {kind for kind, _ in train_targets}
    if len(kinds) != 1 or not kinds <= {"single", "multi", "point"}:
        raise ProbeError(f"{where}: probe targets must be of one kind (single, multi or point), got {sorted(kinds)}")
    fit = {"single": _single, "multi": _multi, "point": _point}[kinds.pop()]
    scaler = StandardScaler().fit(train_x)
    texts, scores = fit(scaler.transform(train_x), [value for _, value in train_targets], scaler.transform(test_x),
                        settings, where)
    lines = [{"id": str(record["id"]), "text": text, **({"scores": row} if row is not None else {})}
             for record, text, row in zip(test_records, texts, scores)]
    return score_predictions(task, list(test_records), {line["id"]: line for line in lines})


def _single(train_z, labels, test_z, settings: ProbeSettings, where: str):
    from sklearn.linear_model import LogisticRegression

    classes = sorted(set(map(str, labels)))
    if len(classes) < 2:
        raise ProbeError(f"{where}: the training split has a single class ({classes}); a probe needs two or more")
    model = LogisticRegression(C=settings.C, max_iter=settings.max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # convergence notes on tiny data
        model.fit(train_z, [str(label) for label in labels])
    probabilities = model.predict_proba(test_z)
    names = [str(name) for name in model.classes_]
    texts = [names[int(np.argmax(row))] for row in probabilities]
    return texts, [{name: float(p) for name, p in zip(names, row)} for row in probabilities]


def _multi(train_z, label_sets, test_z, settings: ProbeSettings, where: str):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer()
    matrix = binarizer.fit_transform([list(map(str, labels)) for labels in label_sets])
    if matrix.shape[1] == 0:
        raise ProbeError(f"{where}: no category is positive in the training split")
    model = OneVsRestClassifier(LogisticRegression(C=settings.C, max_iter=settings.max_iter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # "label not present in all training examples"
        model.fit(train_z, matrix)
        probabilities = model.predict_proba(test_z)
    names = [str(name) for name in binarizer.classes_]
    texts, scores = [], []
    for row in np.atleast_2d(probabilities):
        chosen = [name for name, p in zip(names, row) if p >= settings.multi_threshold] or [names[int(np.argmax(row))]]
        texts.append(", ".join(chosen))
        scores.append({name: float(p) for name, p in zip(names, row)})
    return texts, scores


def _point(train_z, points, test_z, settings: ProbeSettings, where: str):
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=settings.ridge_alpha).fit(train_z, np.asarray(points, dtype=np.float64))
    return [format_point(point) for point in model.predict(test_z)], [None] * len(test_z)  # clamped into the image

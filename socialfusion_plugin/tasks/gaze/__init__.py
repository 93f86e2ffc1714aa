"""The `gaze` task: where does the person in the head box look? (GazeFollow, extended release; the
reader is reader.py). Metrics are computed per test person, then averaged (Chong et al. 2020 protocol)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ...registry import TASKS
from ..answer_space import Point
from ..base import ClassScores, Item, Predictions, References, Task, TaskOptions
from ..gaze_targets import (WORST_AUC, WORST_L2, heatmap_auc, log_gaussian_map, mean_or_none, multi_hot_map,
                            parse_point, pixel_of)
from ..geometry import format_point
from .reader import read_test, read_train

# Width of the Gaussian drawn around a predicted point, as a fraction of the image diagonal.
# AUC depends only on the ranking of pixels, which is the same for every sigma (pixels closer to
# the point rank higher), so this value documents the construction without changing the number.
SIGMA_FRACTION_OF_DIAGONAL = 0.03


def score_gazefollow(references: Sequence[Mapping[str, Any]],
                     points: Sequence[Optional[Tuple[float, float]]]) -> Dict[str, Any]:
    """`points`: each answer's point (None: unparsed)."""
    worst = {"auc": WORST_AUC, "avg_l2": WORST_L2, "min_l2": WORST_L2}
    penalized: Dict[str, List[float]] = {name: [] for name in worst}
    parsed_only: Dict[str, List[float]] = {name: [] for name in worst}
    unparsed = 0
    for meta, point in zip(references, points):
        unparsed += point is None
        for name, value in (worst if point is None else person_metrics(meta, point)).items():
            if value is not None:
                penalized[name].append(value)
                if point is not None:
                    parsed_only[name].append(value)
    persons = len(references)
    parsed = {"persons": persons - unparsed, **{name: mean_or_none(v) for name, v in parsed_only.items()}}
    return {**{name: mean_or_none(v) for name, v in penalized.items()}, "persons": persons, "unparsed": unparsed,
            "parsed_only": parsed}


def person_metrics(meta: Mapping[str, Any], point: Sequence[float]) -> Dict[str, Optional[float]]:
    """AUC, avg_l2 and min_l2 of one predicted point against one person's annotator points."""
    width, height = (int(v) for v in meta["image_size"])
    annotations = [(float(x), float(y)) for x, y in meta["gaze_points"]]
    truth = multi_hot_map(annotations, width, height)
    sigma = SIGMA_FRACTION_OF_DIAGONAL * math.hypot(width, height)
    heatmap = log_gaussian_map(pixel_of(point, width, height), width, height, sigma)
    return {
        "auc": heatmap_auc(truth, heatmap),
        "avg_l2": math.dist(point, mean_point(annotations)),
        "min_l2": min(math.dist(point, a) for a in annotations),
    }


def mean_point(points) -> Optional[Tuple[float, float]]:
    """The mean of a person's annotator points (None when there is none)."""
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


class GazeFollowTask(Task):
    name = "gaze"
    dataset = "GazeFollow (extended)"
    description = (
        "Normalized (x, y) point that the person in the head box looks at. One record = one person: "
        "a train row, or a test person's consecutive annotator rows (same path and eye point). "
        "Train rows with the target out of frame (inout 0) or invalid (inout -1) are skipped."
    )
    splits = ("train", "test")
    metric_names = ("auc", "avg_l2", "min_l2")
    answer_space = Point(truth=lambda meta: mean_point(meta.get("gaze_points")))
    primary_metric = "auc"
    metric_notes = (
        "AUC: ground truth is a binary map at the original image resolution with a 1 at each annotator's "
        "pixel (int(x*width), int(y*height)); the prediction heatmap is an isotropic Gaussian "
        f"(sigma = {SIGMA_FRACTION_OF_DIAGONAL:.0%} of the image diagonal) centred on the pixel of the predicted "
        "point, scored with sklearn roc_auc_score; being rank-based, the AUC does not depend on sigma.",
        "avg_l2: distance from the predicted point to the mean annotator point; min_l2: to the nearest "
        "annotator point; both in normalized coordinates.",
        "An unparseable answer scores the worst value of each metric (AUC 0, distance sqrt(2)); "
        "'parsed_only' gives the same metrics over parsed answers only, with their count.",
    )

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        return {"train": read_train, "test": read_test}[split](Path(root))

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        # a test person has ~10 annotator points; the answer shows their mean (what avg_l2 measures)
        return format_point(mean_point(target["gaze_points"]))

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Any]:
        return parse_point(text)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        return score_gazefollow(references, [self.answer_space.predicted_point(answer) for answer in predictions])

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return meta.get("head_box")


TASKS.register("gaze", GazeFollowTask())

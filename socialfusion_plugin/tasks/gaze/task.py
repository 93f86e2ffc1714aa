"""The `gaze` task: where does the person in the head box look? (GazeFollow, extended release)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ..answer_space import Point
from ..base import ClassScores, Item, Predictions, References, Task, TaskOptions
from ..point_answers import format_point, parse_point
from .metrics import METRIC_NOTES, mean_point, score_gazefollow
from .reader import read_test, read_train


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
    metric_notes = METRIC_NOTES

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        reader = {"train": read_train, "test": read_test}[split]
        return reader(Path(root))

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        # a test person has ~10 annotator points; the answer shows their mean (what avg_l2 measures)
        return format_point(mean_point(target["gaze_points"]))

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Any]:
        return parse_point(text)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        return score_gazefollow(references, predictions)

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return meta.get("head_box")

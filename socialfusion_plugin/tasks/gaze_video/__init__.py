"""The `gaze_video` task: where does the person in the head box look in this video frame, or is
the target out of frame? (VideoAttentionTarget; the reader is reader.py)

The answer is the gaze point "(x, y)" when the target is in the frame, or the fixed wording "out of
frame"; the metrics are the reference's (Chong et al. 2020; `metric_notes`)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from ...registry import TASKS
from ..answer_space import PointOrOutside
from ..base import ClassScores, Item, Predictions, References, Task, TaskOptions, TaskOptionsError, option
from ..gaze_targets import WORST_AUC, WORST_L2, heatmap_auc, mean_or_none, parse_point, reference_labelmap
from ..geometry import format_point
from .reader import read_split

OUT_OF_FRAME_ANSWER = "out of frame"
# Keys of ranking-mode scores for the in/out decision (`scores` in a predictions line).
IN_FRAME_LABEL, OUT_OF_FRAME_LABEL = "in frame", "out of frame"

_PLACE = r"(?:frame|image|picture|view|shot|scene|screen)"
_OUT_OF_FRAME = re.compile(
    r"\bout[\s-]*of[\s-]*(?:the\s+)?" + _PLACE
    + r"|\boutside\s+(?:of\s+)?(?:the\s+)?" + _PLACE
    + r"|\boff[\s-]*(?:screen|frame|camera)\b"
    + r"|\bnot\s+(?:in|inside|within|visible\s+in|shown\s+in)\s+(?:the\s+)?" + _PLACE
    + r"|\bnot\s+visible\b"
    # the release's own marker for an out-of-frame target
    + r"|\(\s*-1(?:\.0*)?\s*,\s*-1(?:\.0*)?\s*\)",
    re.IGNORECASE,
)

GRID = 64  # the reference's output resolution
SIGMA = 3.0  # grid cells, as in the reference's ground-truth heatmap


def score_video_attention(truths: Sequence[Optional[Sequence[float]]], decisions: Sequence[Optional[str]],
                          points: Sequence[Optional[Sequence[float]]],
                          class_scores: Sequence[Optional[Mapping[str, float]]]) -> Dict[str, Any]:
    """Per frame: the annotated point (None: the target is out of frame), the answer's in/out
    decision (IN_FRAME_LABEL or OUT_OF_FRAME_LABEL; None: unparsed) and its point (None: none given)."""
    aucs, distances, point_aucs, point_distances = [], [], [], []
    truth_in_frame, in_frame_scores = [], []
    unparsed = missed_points = 0
    for gaze, decision, point, scores in zip(truths, decisions, points, class_scores):
        in_frame = gaze is not None
        unparsed += decision is None
        truth_in_frame.append(int(in_frame))
        in_frame_scores.append(_in_frame_score(decision, scores, in_frame))
        if not in_frame:
            continue
        if point is None:
            missed_points += decision is not None  # said "out of frame" where the target is visible
            aucs.append(WORST_AUC)
            distances.append(WORST_L2)
            continue
        auc, distance = frame_metrics(gaze, point)
        if auc is not None:
            aucs.append(auc)
            point_aucs.append(auc)
        distances.append(distance)
        point_distances.append(distance)
    return {
        "auc": mean_or_none(aucs),
        "l2": mean_or_none(distances),
        "inout_ap": _average_precision(truth_in_frame, in_frame_scores),
        "frames": len(truths),
        "frames_in_frame": int(sum(truth_in_frame)),
        "unparsed": unparsed,
        "out_of_frame_answers_on_in_frame": missed_points,
        "parsed_only": {
            "frames_in_frame_with_point": len(point_distances),
            "auc": mean_or_none(point_aucs),
            "l2": mean_or_none(point_distances),
        },
    }


def frame_metrics(gaze: Sequence[float], point: Sequence[float]):
    """(AUC, L2) of a predicted point for one in-frame annotation (normalized coordinates)."""
    truth = (reference_labelmap(GRID, gaze[0] * GRID, gaze[1] * GRID, SIGMA) > 0).astype(np.int8)
    heatmap = reference_labelmap(GRID, point[0] * GRID, point[1] * GRID, SIGMA)
    return heatmap_auc(truth, heatmap), math.dist(point, gaze)


def _in_frame_score(decision: Optional[str], scores: Optional[Mapping[str, float]], in_frame: bool) -> float:
    if scores and (IN_FRAME_LABEL in scores or OUT_OF_FRAME_LABEL in scores):
        return float(scores.get(IN_FRAME_LABEL, 0.0)) - float(scores.get(OUT_OF_FRAME_LABEL, 0.0))
    if decision is None:
        return 0.0 if in_frame else 1.0  # wrong on purpose
    return 1.0 if decision == IN_FRAME_LABEL else 0.0


def _average_precision(truth: List[int], scores: List[float]) -> Optional[float]:
    """None when no frame has the target in frame (AP undefined)."""
    from sklearn.metrics import average_precision_score

    if not any(truth):
        return None
    return float(average_precision_score(np.array(truth), np.array(scores)))


@dataclass
class GazeVideoOptions(TaskOptions):
    frame_stride: int = option(1, "keep every k-th annotated line of each person track (consecutive frames are "
                               "near duplicates); the others are reported as 'not sampled (frame_stride)'")
    smooth_boxes: bool = option(False, "moving-average head boxes over 11 lines of the track, as the reference "
                                "code does")

    def __post_init__(self):
        if not isinstance(self.frame_stride, int) or isinstance(self.frame_stride, bool) or self.frame_stride < 1:
            raise TaskOptionsError(f"option frame_stride must be an integer >= 1, got {self.frame_stride!r}")
        if not isinstance(self.smooth_boxes, bool):
            raise TaskOptionsError(f"option smooth_boxes must be true or false, got {self.smooth_boxes!r}")


class VideoAttentionTargetTask(Task):
    name = "gaze_video"
    dataset = "VideoAttentionTarget"
    description = (
        "Normalized (x, y) point that the person in the head box looks at in a video frame, or "
        "'out of frame'. One record = one annotated line of a person track (a person in a frame). "
        "Ranking mode scores the in/out decision with the labels 'in frame' / 'out of frame'."
    )
    splits = ("train", "test")
    metric_names = ("auc", "l2", "inout_ap")
    Options = GazeVideoOptions
    answer_space = PointOrOutside(point="gaze", inside="in_frame", predicted="point", predicted_inside="in_frame",
                                  outside_answer=OUT_OF_FRAME_ANSWER, point_prefix="(",
                                  inside_label=IN_FRAME_LABEL, outside_label=OUT_OF_FRAME_LABEL)
    primary_metric = "auc"
    metric_notes = (
        f"AUC (frames with the target in frame): on a {GRID}x{GRID} grid; ground truth is the reference's "
        f"Gaussian (sigma {SIGMA:g} cells, truncated at 3 sigma) at the annotated point, thresholded > 0; the "
        "prediction heatmap is the same truncated Gaussian drawn at the predicted point (the map the "
        "reference model is trained to output), scored with sklearn roc_auc_score.",
        "l2 (frames with the target in frame): distance between predicted and annotated points, normalized "
        "coordinates.",
        "inout_ap: sklearn average_precision_score, positive = target in frame, over all frames; the score is "
        f"scores['{IN_FRAME_LABEL}'] - scores['{OUT_OF_FRAME_LABEL}'] from ranking mode when given (either key alone "
        "is used alone), else 1 for a point answer and 0 for 'out of frame'.",
        "An unparseable answer is wrong: worst AUC (0) and distance (sqrt(2)) on in-frame frames, and the in/out "
        "score opposite to the truth. An 'out of frame' answer on an in-frame frame has no point: worst AUC and "
        "distance too. 'parsed_only' repeats AUC and l2 over in-frame frames answered with a point.",
    )

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        return read_split(Path(root), split, options.frame_stride, options.smooth_boxes)

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        return format_point(target["gaze"]) if target["in_frame"] else OUT_OF_FRAME_ANSWER

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Any]:
        """{"in_frame": True, "point": [x, y]} or {"in_frame": False}; None when unreadable or when
        the text both names a point and says the target is out of frame (contradictory)."""
        if not isinstance(text, str):
            return None
        point = parse_point(text)
        says_out = _OUT_OF_FRAME.search(text) is not None
        if point is not None and not says_out:
            return {"in_frame": True, "point": [point[0], point[1]]}
        if says_out and point is None:
            return {"in_frame": False}
        return None

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        space = self.answer_space
        return score_video_attention([space.truth_point(meta) for meta in references],
                                     [space.predicted_decision(answer) for answer in predictions],
                                     [space.predicted_point(answer) for answer in predictions], class_scores)

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return meta.get("head_box")


TASKS.register("gaze_video", VideoAttentionTargetTask())

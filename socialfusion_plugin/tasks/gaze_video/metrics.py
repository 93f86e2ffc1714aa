"""VideoAttentionTarget reference metrics (Chong et al. 2020): AUC and L2 over frames whose target
is in the frame, in/out average precision over all frames."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..gaze_metrics import WORST_AUC, WORST_L2, heatmap_auc, l2, mean_or_none, reference_labelmap
from .answers import IN_FRAME_LABEL, OUT_OF_FRAME_LABEL

GRID = 64  # the reference's output resolution
SIGMA = 3.0  # grid cells, as in the reference's ground-truth heatmap

METRIC_NOTES = (
    f"AUC (frames with the target in frame): on a {GRID}x{GRID} grid; ground truth is the reference's "
    f"Gaussian (sigma {SIGMA:g} cells, truncated at 3 sigma) at the annotated point, thresholded > 0; the "
    "prediction heatmap is the same truncated Gaussian drawn at the predicted point (the map the "
    "reference model is trained to output), scored with sklearn roc_auc_score.",
    "l2 (frames with the target in frame): distance between predicted and annotated points, normalized coordinates.",
    "inout_ap: sklearn average_precision_score, positive = target in frame, over all frames; the score is "
    f"scores['{IN_FRAME_LABEL}'] - scores['{OUT_OF_FRAME_LABEL}'] from ranking mode when given (either key alone "
    "is used alone), else 1 for a point answer and 0 for 'out of frame'.",
    "An unparseable answer is wrong: worst AUC (0) and distance (sqrt(2)) on in-frame frames, and the in/out "
    "score opposite to the truth. An 'out of frame' answer on an in-frame frame has no point: worst AUC and "
    "distance too. 'parsed_only' repeats AUC and l2 over in-frame frames answered with a point.",
)


def score_video_attention(
    truths: Sequence[Optional[Sequence[float]]],
    decisions: Sequence[Optional[str]],
    points: Sequence[Optional[Sequence[float]]],
    class_scores: Sequence[Optional[Mapping[str, float]]],
) -> Dict[str, Any]:
    """Per frame: the annotated point (None: the target is out of frame), the answer's in/out
    decision (IN_FRAME_LABEL or OUT_OF_FRAME_LABEL; None: unparsed) and its point (None: none given)."""
    aucs: List[float] = []
    distances: List[float] = []
    point_aucs: List[float] = []
    point_distances: List[float] = []
    truth_in_frame: List[int] = []
    in_frame_scores: List[float] = []
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
    return heatmap_auc(truth, heatmap), l2(point, gaze)


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

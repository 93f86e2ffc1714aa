"""GazeFollow reference metrics, per test person then averaged (Chong et al. 2020 protocol)."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..gaze_metrics import (
    WORST_AUC,
    WORST_L2,
    heatmap_auc,
    l2,
    log_gaussian_map,
    mean_or_none,
    multi_hot_map,
    pixel_of,
)

# Width of the Gaussian drawn around a predicted point, as a fraction of the image diagonal.
# AUC depends only on the ranking of pixels, which is the same for every sigma (pixels closer to
# the point rank higher), so this value documents the construction without changing the number.
SIGMA_FRACTION_OF_DIAGONAL = 0.03

METRIC_NOTES = (
    "AUC: ground truth is a binary map at the original image resolution with a 1 at each annotator's "
    "pixel (int(x*width), int(y*height)); the prediction heatmap is an isotropic Gaussian "
    f"(sigma = {SIGMA_FRACTION_OF_DIAGONAL:.0%} of the image diagonal) centred on the pixel of the predicted "
    "point, scored with sklearn roc_auc_score; being rank-based, the AUC does not depend on sigma.",
    "avg_l2: distance from the predicted point to the mean annotator point; min_l2: to the nearest "
    "annotator point; both in normalized coordinates.",
    "An unparseable answer scores the worst value of each metric (AUC 0, distance sqrt(2)); "
    "'parsed_only' gives the same metrics over parsed answers only, with their count.",
)


def score_gazefollow(references: Sequence[Mapping[str, Any]], predictions: Sequence[Optional[Any]]) -> Dict[str, Any]:
    penalized: Dict[str, List[float]] = {"auc": [], "avg_l2": [], "min_l2": []}
    parsed_only: Dict[str, List[float]] = {"auc": [], "avg_l2": [], "min_l2": []}
    unparsed = 0
    for meta, prediction in zip(references, predictions):
        point = _as_point(prediction)
        if point is None:
            unparsed += 1
            for name, worst in (("auc", WORST_AUC), ("avg_l2", WORST_L2), ("min_l2", WORST_L2)):
                penalized[name].append(worst)
            continue
        values = person_metrics(meta, point)
        for name, value in values.items():
            if value is not None:
                penalized[name].append(value)
                parsed_only[name].append(value)
    result: Dict[str, Any] = {name: mean_or_none(values) for name, values in penalized.items()}
    result["persons"] = len(references)
    result["unparsed"] = unparsed
    result["parsed_only"] = {"persons": len(references) - unparsed}
    result["parsed_only"].update({name: mean_or_none(values) for name, values in parsed_only.items()})
    return result


def person_metrics(meta: Mapping[str, Any], point: Sequence[float]) -> Dict[str, Optional[float]]:
    """AUC, avg_l2 and min_l2 of one predicted point against one person's annotator points."""
    width, height = (int(v) for v in meta["image_size"])
    annotations = [(float(x), float(y)) for x, y in meta["gaze_points"]]
    truth = multi_hot_map(annotations, width, height)
    sigma = SIGMA_FRACTION_OF_DIAGONAL * math.hypot(width, height)
    heatmap = log_gaussian_map(pixel_of(point, width, height), width, height, sigma)
    return {
        "auc": heatmap_auc(truth, heatmap),
        "avg_l2": l2(point, mean_point(annotations)),
        "min_l2": min(l2(point, a) for a in annotations),
    }


def mean_point(points) -> Optional[Tuple[float, float]]:
    """The mean of a person's annotator points (None when there is none)."""
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def _as_point(prediction: Optional[Any]) -> Optional[tuple]:
    if prediction is None:
        return None
    try:
        x, y = (float(v) for v in prediction)
    except (TypeError, ValueError):
        return None
    return (x, y)

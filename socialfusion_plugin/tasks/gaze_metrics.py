"""Gaze-target metrics shared by `gaze` (GazeFollow) and `gaze_video` (VideoAttentionTarget).

The references (Chong et al., "Detecting Attended Visual Targets in Video", CVPR 2020) score a
predicted HEATMAP; a language model answers with one point. The constructions that turn a point
into a heatmap live here, next to the ground-truth maps they are compared with, so that both
tasks discretize points the same way the reference code does (`int(x * width)`).

Answers that give no usable point (unparseable, or "out of frame" where the target is in frame)
are scored with the worst value each metric can take: AUC 0 and distance sqrt(2), the diagonal of
the unit square. A missing answer can therefore never score better than a real one.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

WORST_AUC = 0.0
WORST_L2 = math.sqrt(2.0)  # no two points of the unit square are farther apart

Point = Tuple[float, float]


def pixel_of(point: Point, width: int, height: int) -> Tuple[int, int]:
    """(column, row) of the pixel holding a normalized point, as the reference's
    `multi_hot_targets` computes it: truncate x*width, keep the last pixel for x == 1."""
    column = min(int(point[0] * width), width - 1)
    row = min(int(point[1] * height), height - 1)
    return max(column, 0), max(row, 0)


def multi_hot_map(points: Sequence[Point], width: int, height: int) -> np.ndarray:
    """(height, width) 0/1 map with a 1 at each annotator's pixel (GazeFollow ground truth)."""
    truth = np.zeros((height, width), dtype=np.int8)
    for point in points:
        column, row = pixel_of(point, width, height)
        truth[row, column] = 1
    return truth


def log_gaussian_map(center: Tuple[int, int], width: int, height: int, sigma: float) -> np.ndarray:
    """log of an isotropic Gaussian (in pixels) centred on pixel `center`, over the whole image.

    AUC only uses the ranking of pixels, and log is monotone, so this ranks pixels exactly like
    the Gaussian itself while never underflowing to ties far from the centre (exp(-d^2/2s^2) does
    underflow on large images with a small sigma)."""
    columns = np.arange(width, dtype=np.float64) - center[0]
    rows = np.arange(height, dtype=np.float64) - center[1]
    return -(rows[:, None] ** 2 + columns[None, :] ** 2) / (2.0 * sigma * sigma)


def reference_labelmap(size: int, x: float, y: float, sigma: float = 3.0) -> np.ndarray:
    """The reference's `imutils.draw_labelmap(..., type='Gaussian')` on a size x size grid at the
    grid coordinates (x, y): a Gaussian truncated to a (6*sigma+1)^2 window whose top-left corner
    is int(x - 3*sigma) (Python int() truncates toward zero, kept on purpose), scaled to max 1."""
    grid = np.zeros((size, size), dtype=np.float64)
    upper_left = [int(x - 3 * sigma), int(y - 3 * sigma)]
    bottom_right = [int(x + 3 * sigma + 1), int(y + 3 * sigma + 1)]
    if upper_left[0] >= size or upper_left[1] >= size or bottom_right[0] < 0 or bottom_right[1] < 0:
        return grid
    window = int(6 * sigma + 1)
    axis = np.arange(0, window, 1, dtype=np.float64)
    middle = window // 2
    gaussian = np.exp(-((axis[None, :] - middle) ** 2 + (axis[:, None] - middle) ** 2) / (2 * sigma**2))
    g_x = max(0, -upper_left[0]), min(bottom_right[0], size) - upper_left[0]
    g_y = max(0, -upper_left[1]), min(bottom_right[1], size) - upper_left[1]
    img_x = max(0, upper_left[0]), min(bottom_right[0], size)
    img_y = max(0, upper_left[1]), min(bottom_right[1], size)
    grid[img_y[0] : img_y[1], img_x[0] : img_x[1]] += gaussian[g_y[0] : g_y[1], g_x[0] : g_x[1]]
    peak = grid.max()
    return grid / peak if peak > 0 else grid


def heatmap_auc(truth: np.ndarray, scores: np.ndarray) -> Optional[float]:
    """sklearn's roc_auc_score over all pixels (ties count half, as in sklearn). None when the
    truth map has only one class (AUC undefined)."""
    from sklearn.metrics import roc_auc_score

    flat_truth = truth.reshape(-1)
    positives = int(flat_truth.sum())
    if positives == 0 or positives == flat_truth.size:
        return None
    return float(roc_auc_score(flat_truth, scores.reshape(-1)))


def l2(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def mean_or_none(values: Sequence[float]) -> Optional[float]:
    return float(np.mean(values)) if len(values) else None

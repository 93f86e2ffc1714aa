"""What the two gaze-target tasks share, `gaze` (GazeFollow) and `gaze_video` (VideoAttentionTarget):
both releases are headerless CSV files, streamed row by row; the person asked about is given by a
head box, read in pixels, clamped to the picture and shown to the model in the prompt; the answer is
a point "(x, y)" in normalized image coordinates with 2 decimals, read back by a tolerant parser;
and the metrics score that point.

The references (Chong et al., "Detecting Attended Visual Targets in Video", CVPR 2020) score a
predicted HEATMAP; a language model answers with one point. The constructions that turn a point
into a heatmap live here, next to the ground-truth maps they are compared with, so that both
tasks discretize points the same way the reference code does (`int(x * width)`).

Answers that give no usable point (unparseable, or "out of frame" where the target is in frame)
are scored with the worst value each metric can take: AUC 0 and distance sqrt(2), the diagonal of
the unit square. A missing answer can therefore never score better than a real one.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import UserInputError
from ..json_records import not_utf8_message
from .base import Sample, Skip
from .geometry import InvalidBox, format_box, pixel_box, rounded


def csv_rows(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """Non-empty CSV rows with their line numbers (utf-8-sig: some copies start with a BOM).
    A file that is not UTF-8, or a cell over csv's field size limit (128 KiB), stops the reading
    with a UserInputError naming the file and line."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for fields in reader:
                if fields and any(f.strip() for f in fields):
                    yield reader.line_num, fields
        except csv.Error as err:
            raise UserInputError(f"{path}:{reader.line_num}: not readable as CSV ({err})") from None
        except UnicodeDecodeError:
            raise UserInputError(not_utf8_message(path)) from None


def head_box(ref: str, pixels: Sequence[float], size: Tuple[int, int], picture: str) -> Union[List[float], Skip]:
    """The normalized head box, clamped to the picture when it reaches a little past it (the
    releases' quirk; tasks/geometry.py); a Skip when it is not a box of this `picture` (image, frame)."""
    width, height = size
    try:
        return rounded(pixel_box(pixels, width, height, digits=6))
    except InvalidBox as err:
        return Skip(ref, "invalid head box", detail=f"{err} ({picture} {width}x{height})")


def head_sample(id: str, ref: str, image: str, box: List[float], target: Dict[str, Any]) -> Sample:
    """A record about the person whose head is in `box` (the prompts' {box})."""
    return Sample(id=id, ref=ref, image=image, prompt_fields={"box": format_box(box)}, target=target)


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*%?"
# "(0.4, 0.5)", "[0.4; 0.5]", "(0.4 0.5)": an explicit pair wins over loose numbers elsewhere.
_BRACKETED_PAIR = re.compile(rf"[\(\[\{{<]\s*({_NUMBER})\s*[,;/ ]\s*({_NUMBER})\s*[\)\]\}}>]")
# "x = 0.4, y: 0.5", "x 0.4 and y 0.5"
_NAMED_PAIR = re.compile(rf"\bx\s*[:=]?\s*({_NUMBER}).*?\by\s*[:=]?\s*({_NUMBER})", re.IGNORECASE | re.DOTALL)
_ANY_NUMBER = re.compile(_NUMBER)


def _number(text: str) -> float:
    text = text.strip()
    if text.endswith("%"):
        return float(text[:-1].strip()) / 100.0
    return float(text)


def parse_point(text: object) -> Optional[Tuple[float, float]]:
    """(x, y) from a model answer, or None. Accepts a bracketed pair, "x=..., y=...", or a text
    with exactly two numbers; percentages ("45%") are divided by 100. Coordinates outside [0, 1]
    make the answer unparseable (they are pixels or garbage, not normalized coordinates)."""
    if not isinstance(text, str):
        return None
    try:
        for pattern in (_BRACKETED_PAIR, _NAMED_PAIR):
            match = pattern.search(text)
            if match:
                return _checked(_number(match.group(1)), _number(match.group(2)))
        numbers = _ANY_NUMBER.findall(text)
        if len(numbers) == 2:
            return _checked(_number(numbers[0]), _number(numbers[1]))
    except (ValueError, OverflowError):
        return None
    return None


def _checked(x: float, y: float) -> Optional[Tuple[float, float]]:
    return (x, y) if 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 else None


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


def mean_or_none(values: Sequence[float]) -> Optional[float]:
    return float(np.mean(values)) if len(values) else None

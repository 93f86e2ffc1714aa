"""Pixel boxes and points -> normalized image coordinates, with the release quirks repaired:
swapped corners are put back in order and anything outside the image is clamped to it."""
from __future__ import annotations

import math
from typing import List, Optional, Sequence


def finite_floats(values: Sequence[str]) -> List[float]:
    """Floats from CSV fields; ValueError on text, NaN or infinity."""
    numbers = [float(v) for v in values]
    if not all(math.isfinite(n) for n in numbers):
        raise ValueError("non-finite number")
    return numbers


def clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def normalize_pixel_box(box: Sequence[float], width: int, height: int) -> Optional[List[float]]:
    """[x1, y1, x2, y2] in pixels -> normalized, corners ordered and clamped to the image.
    None when nothing of the box is left inside the image (zero width or height)."""
    x1, x2 = sorted((box[0], box[2]))
    y1, y2 = sorted((box[1], box[3]))
    normalized = [clamp01(x1 / width), clamp01(y1 / height), clamp01(x2 / width), clamp01(y2 / height)]
    if normalized[2] <= normalized[0] or normalized[3] <= normalized[1]:
        return None
    return normalized


def rounded(values: Sequence[float], digits: int = 6) -> List[float]:
    """Meta values rounded for readable JSON; 6 decimals is far below a pixel of any image, so
    the pixel a metric derives from a point does not change (except exactly on a pixel border)."""
    return [round(float(v), digits) for v in values]

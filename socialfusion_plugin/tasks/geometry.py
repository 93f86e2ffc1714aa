"""Boxes and points of every task: which box is valid, how it is normalized, how a prompt shows it.

Coordinates in records are normalized to the image, [x1, y1, x2, y2] with the origin top-left.
A box becomes a record only when it is finite and keeps a positive area inside the image; anything
else is an `InvalidBox` that the reader turns into a counted skip, never a record:

- non-finite: NaN, infinity, or an integer too large for a float;
- inverted: the second corner before the first (for readers that do not repair the order);
- zero area: no width or no height (also after rounding to the digits the record stores);
- outside the image: a box with area that has none left once clamped to the image.

Repairs that a release's readers apply on purpose stay theirs to choose: pixel boxes whose corners
come in the wrong order are the same rectangle (`order_corners=True`: GazeFollow documents it), and a
box reaching past the border is clamped to it. What is degenerate after the repair is still refused.
"""
from __future__ import annotations

import math
import numbers
from typing import List, Optional, Sequence, Tuple
from socialfusion_plugin.errors import UserInputError

NON_FINITE = "non-finite coordinate"
INVERTED = "inverted box"
ZERO_AREA = "zero-area box"
OUTSIDE = "box outside the image"


class InvalidBox(UserInputError):
    """A box that cannot be a record; `kind` is one of the four reasons above."""

    def __init__(self, kind: str, box: Sequence[object]):
        self.kind = kind
        self.box = list(box)
        super().__init__(f"{kind}: {', '.join(_show(v) for v in box)}")


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= 24 else text[:10] + "..." + f"({len(text)} characters)"


def finite_number(value: object) -> Optional[float]:
    """A number from JSON, a CSV literal or a MATLAB file as a finite float; None for text, bool,
    NaN, infinity, or an integer too large for a float (float() would raise OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def finite_floats(values: Sequence[str]) -> List[float]:
    """Floats from CSV fields; ValueError on text, NaN or infinity (also '1e999' and digit strings
    too long for a float, which parse as infinity)."""
    numbers_ = [float(v) for v in values]
    if not all(math.isfinite(n) for n in numbers_):
        raise UserInputError("non-finite number")
    return numbers_


def clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def rounded(values: Sequence[float], digits: int = 6) -> List[float]:
    """Meta values rounded for readable JSON; 6 decimals is far below a pixel of any image, so
    the pixel a metric derives from a point does not change (except exactly on a pixel border)."""
    return [round(float(v), digits) for v in values]


def format_box(box: Sequence[float]) -> str:
    """The prompt convention shared by all tasks: normalized [x1, y1, x2, y2], 2 decimals, clamped."""
    return "[" + ", ".join(f"{clamp01(v):.2f}" for v in box) + "]"


def format_point(point: Sequence[float]) -> str:
    """The answer convention of the gaze tasks: normalized (x, y), 2 decimals, clamped."""
    return f"({clamp01(point[0]):.2f}, {clamp01(point[1]):.2f})"


def union_box(boxes) -> Optional[List[float]]:
    """The smallest normalized box holding every box given (None when there is none)."""
    boxes = [b for b in boxes or () if b]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def pixel_box(box: Sequence[object], width: float, height: float, digits: int,
              order_corners: bool = True) -> List[float]:
    """[x1, y1, x2, y2] in pixels of a `width` x `height` image (both positive and finite) ->
    normalized and clamped to the image, not rounded (the reader rounds as its records do).
    `digits`: the decimals the record keeps; the box must still have an area at that precision.
    Raises InvalidBox."""
    values = _finite_box(box)
    x1, y1, x2, y2 = values
    if order_corners:
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
    elif x2 < x1 or y2 < y1:
        raise InvalidBox(INVERTED, box)
    if x1 == x2 or y1 == y2:
        raise InvalidBox(ZERO_AREA, box)
    normalized = [clamp01(x1 / width), clamp01(y1 / height), clamp01(x2 / width), clamp01(y2 / height)]
    return _with_area(normalized, box, digits)


def xywh_box(box: Sequence[object], digits: int) -> List[float]:
    """Normalized [x, y, w, h] (HaGRID) -> normalized [x1, y1, x2, y2] clamped to the image, not
    rounded. A negative width or height is an inverted box (nothing says which corner is right).
    Raises InvalidBox."""
    x, y, w, h = _finite_box(box)
    if w < 0 or h < 0:
        raise InvalidBox(INVERTED, box)
    if w == 0 or h == 0:
        raise InvalidBox(ZERO_AREA, box)
    return _with_area([clamp01(x), clamp01(y), clamp01(x + w), clamp01(y + h)], box, digits)


def valid_box(box: Sequence[object]) -> List[float]:
    """A normalized [x1, y1, x2, y2] read from a record, as floats with a positive area (no clamping,
    no repair: records hold boxes that were checked when converted). Raises InvalidBox."""
    x1, y1, x2, y2 = _finite_box(box)
    if x2 < x1 or y2 < y1:
        raise InvalidBox(INVERTED, box)
    if x1 == x2 or y1 == y2:
        raise InvalidBox(ZERO_AREA, box)
    return [x1, y1, x2, y2]


def pixel_crop(box: Sequence[float], width: int, height: int) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of a normalized box in a `width` x `height` image: the
    pixels the box touches, clamped to the image and at least one pixel wide and high."""
    x1, y1, x2, y2 = box
    left = min(max(math.floor(x1 * width), 0), width - 1)
    top = min(max(math.floor(y1 * height), 0), height - 1)
    right = max(min(math.ceil(x2 * width), width), left + 1)
    bottom = max(min(math.ceil(y2 * height), height), top + 1)
    return left, top, right, bottom


def _finite_box(box: Sequence[object]) -> List[float]:
    values = [finite_number(v) for v in box]
    if len(values) != 4 or any(v is None for v in values):
        raise InvalidBox(NON_FINITE, box)
    return values  # type: ignore[return-value]


def _with_area(normalized: List[float], box: Sequence[object], digits: int) -> List[float]:
    if normalized[2] <= normalized[0] or normalized[3] <= normalized[1]:
        raise InvalidBox(OUTSIDE, box)
    x1, y1, x2, y2 = (round(v, digits) for v in normalized)
    if x2 <= x1 or y2 <= y1:
        raise InvalidBox(ZERO_AREA, box)
    return normalized

"""Boxes and points of every task: which are valid, how they are normalized, how a prompt shows them.

Coordinates in records are normalized to the image, [x1, y1, x2, y2] with the origin top-left.
One rule for all five formats: a box or point becomes a record only when every number is well
formed, finite and in range; anything else is an `InvalidBox` / `InvalidPoint` that the reader
turns into a counted skip with its reason, never a record and never a silently changed value:

- non-finite: NaN, infinity, an integer too large for a float, or text that is not a plain
  decimal number (`1_000`, `0x10`, digits of other scripts: `float()` reads them, a release never writes them);
- inverted: the second corner before the first (or a negative width or height), in every format;
  nothing in a file says which corner is the mistake, so no reader swaps them;
- zero area: no width or no height (also after rounding to the digits the record stores);
- outside the image: a box with area that has none left once clamped to the image;
- out of range: a corner more than BOX_MARGIN of the image beyond its border, or a point more
  than POINT_MARGIN beyond it (`1e308` is damage, not a box reaching past the border).

The one repair kept: what reaches a little past the border (within the margins) is clamped to it,
as the releases document (GazeFollow head boxes, VideoAttentionTarget's slightly negative gaze).
"""
from __future__ import annotations

import math
import numbers
import re
from typing import List, Optional, Sequence, Tuple
from socialfusion_plugin.errors import UserInputError

NON_FINITE = "non-finite coordinate"
INVERTED = "inverted box"
ZERO_AREA = "zero-area box"
OUTSIDE = "box outside the image"
OUT_OF_RANGE = "coordinate out of range"

# How far past the border (a fraction of the image's width or height) a value is still the
# release's own imprecision, clamped to the border; farther is damage and a skip.
BOX_MARGIN = 0.5  # boxes drawn or detected around a head or body cut by the border
POINT_MARGIN = 0.05  # annotation noise at the border (VideoAttentionTarget's "slightly negative" gaze)

# A plain decimal number as CSV releases write it. float() also reads "1_000", "nan", "infinity"
# and digits of other scripts; none of these is a value a release writes.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class InvalidBox(UserInputError):
    """A box (or point) that cannot be a record; `kind` is one of the reasons above."""

    def __init__(self, kind: str, box: Sequence[object]):
        self.kind = kind
        super().__init__(f"{kind}: {', '.join(_show(v) for v in box)}")


class InvalidPoint(InvalidBox):
    """A point that cannot be a record (non-finite or out of range)."""


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


def decimal_number(text: str) -> float:
    """A CSV field as a float: a plain decimal number only (surrounding spaces allowed); ValueError
    on anything else, including what float() reads but no release writes ('1_000', 'nan', 'inf')."""
    stripped = text.strip() if isinstance(text, str) else text
    if not isinstance(stripped, str) or not stripped.isascii() or not _DECIMAL.fullmatch(stripped):
        raise UserInputError(f"not a decimal number: {_show(text)}")
    return float(stripped)


def finite_floats(values: Sequence[str]) -> List[float]:
    """Floats from CSV fields; ValueError on text, NaN, infinity, '1_000' (see decimal_number),
    '1e999' and digit strings too long for a float (which parse as infinity)."""
    numbers_ = [decimal_number(v) for v in values]
    if not all(math.isfinite(n) for n in numbers_):
        raise UserInputError("non-finite number")
    return numbers_


def integer_code(text: str, allowed: Sequence[int]) -> Optional[int]:
    """A code column ('1', '0', '-1'; '1.0' as some exports write it) as one of `allowed`, or None
    for anything else ('1.9' is not 1; '1_000' is not a number)."""
    try:
        value = decimal_number(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and int(value) in allowed else None


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


def pixel_box(box: Sequence[object], width: float, height: float, digits: int) -> List[float]:
    """[x1, y1, x2, y2] in pixels of a `width` x `height` image (both positive and finite) ->
    normalized and clamped to the image, not rounded (the reader rounds as its records do).
    `digits`: the decimals the record keeps; the box must still have an area at that precision.
    Raises InvalidBox (inverted corners included: the same rule as every other format)."""
    x1, y1, x2, y2 = valid_box(box)
    return _with_area([x1 / width, y1 / height, x2 / width, y2 / height], box, digits)


def image_point(point: Sequence[object], width: float = 1.0, height: float = 1.0) -> List[float]:
    """(x, y) in pixels of a `width` x `height` image (default: already normalized) -> normalized,
    clamped to the image when within POINT_MARGIN of it, not rounded. Raises InvalidPoint when a
    value is not finite or lies farther outside."""
    x, y = _finite(point, 2, InvalidPoint)
    normalized = [x / width, y / height]
    if any(not -POINT_MARGIN <= v <= 1 + POINT_MARGIN for v in normalized):
        raise InvalidPoint(OUT_OF_RANGE, point)
    return [clamp01(v) for v in normalized]


def xywh_box(box: Sequence[object], digits: int) -> List[float]:
    """Normalized [x, y, w, h] (HaGRID) -> normalized [x1, y1, x2, y2] clamped to the image, not
    rounded. A negative width or height is an inverted box (nothing says which corner is right).
    Raises InvalidBox."""
    x, y, w, h = _finite(box, 4)
    if w < 0 or h < 0:
        raise InvalidBox(INVERTED, box)
    if w == 0 or h == 0:
        raise InvalidBox(ZERO_AREA, box)
    return _with_area([x, y, x + w, y + h], box, digits)


def pixel_crop(box: Sequence[float], width: int, height: int) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of a normalized box in a `width` x `height` image: the
    pixels the box touches, clamped to the image and at least one pixel wide and high."""
    x1, y1, x2, y2 = box
    left = min(max(math.floor(x1 * width), 0), width - 1)
    top = min(max(math.floor(y1 * height), 0), height - 1)
    right = max(min(math.ceil(x2 * width), width), left + 1)
    bottom = max(min(math.ceil(y2 * height), height), top + 1)
    return left, top, right, bottom


def _finite(values: Sequence[object], count: int, invalid: type = InvalidBox) -> List[float]:
    numbers_ = [finite_number(v) for v in values]
    if len(numbers_) != count or None in numbers_:
        raise invalid(NON_FINITE, values)
    return numbers_  # type: ignore[return-value]


def valid_box(box: Sequence[object]) -> List[float]:
    """Finite [x1, y1, x2, y2], the corners in order and with an area; InvalidBox otherwise. Also how
    a normalized box read back from a record is checked (no clamping, no repair: records hold boxes
    that were checked when converted)."""
    x1, y1, x2, y2 = _finite(box, 4)
    if x2 < x1 or y2 < y1:
        raise InvalidBox(INVERTED, box)
    if x1 == x2 or y1 == y2:
        raise InvalidBox(ZERO_AREA, box)
    return [x1, y1, x2, y2]


def _with_area(unclamped: List[float], box: Sequence[object], digits: int) -> List[float]:
    """Normalized corners (in order, with area) -> clamped to the image; InvalidBox when nothing is
    left inside, when a corner lies farther than BOX_MARGIN outside, or when no area is left at
    `digits` decimals."""
    normalized = [clamp01(v) for v in unclamped]
    if normalized[2] <= normalized[0] or normalized[3] <= normalized[1]:
        raise InvalidBox(OUTSIDE, box)
    if any(not -BOX_MARGIN <= v <= 1 + BOX_MARGIN for v in unclamped):
        raise InvalidBox(OUT_OF_RANGE, box)
    x1, y1, x2, y2 = (round(v, digits) for v in normalized)
    if x2 <= x1 or y2 <= y1:
        raise InvalidBox(ZERO_AREA, box)
    return normalized

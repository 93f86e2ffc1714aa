"""Answer text for points: "(x, y)" in normalized image coordinates with 2 decimals, and a tolerant
parser for what a model writes back. Shared by the point tasks (`gaze`, `gaze_video`)."""
from __future__ import annotations

import re
from typing import Optional, Tuple

from .geometry import format_point

__all__ = ["format_point", "parse_point"]

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
    if 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0:
        return (x, y)
    return None

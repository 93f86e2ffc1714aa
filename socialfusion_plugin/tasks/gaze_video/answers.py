"""Answers for VideoAttentionTarget: the gaze point "(x, y)" when the target is in the frame, or
the fixed wording "out of frame". Points use the shared point format and parser."""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional

from ..point_answers import format_point, parse_point

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


def format_answer(target: Mapping[str, Any]) -> str:
    if target["in_frame"]:
        return format_point(target["gaze"])
    return OUT_OF_FRAME_ANSWER


def parse_answer(text: object) -> Optional[Dict[str, Any]]:
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

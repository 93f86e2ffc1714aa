"""Box helpers shared by tasks (normalized [x1, y1, x2, y2] coordinates)."""
from __future__ import annotations

from typing import List, Optional


def union_box(boxes) -> Optional[List[float]]:
    """The smallest normalized box holding every box given (None when there is none)."""
    boxes = [b for b in boxes or () if b]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]

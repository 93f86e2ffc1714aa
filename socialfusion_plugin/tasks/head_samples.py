"""What the two gaze tasks share in a record: the person asked about is given by a head box, read
in pixels, clamped to the picture and shown to the model in the prompt."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple, Union

from .base import Sample, Skip
from .geometry import InvalidBox, format_box, pixel_box, rounded


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

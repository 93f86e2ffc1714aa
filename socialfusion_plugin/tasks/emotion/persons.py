"""One annotated person, whichever file it came from, turned into a Sample or a Skip.

Both readers (the official .mat and the CSV conversion) fill a `PersonRecord`; the checks and
the ground truth stored in the record's meta are decided here once, so the two sources convert
the same person identically.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..base import Sample, Skip
from ..paths import ImageIndex, safe_relative_path
from .labels import in_canonical_order, release_category

VAD_KEYS = ("valence", "arousal", "dominance")


@dataclass
class PersonRecord:
    ref: str  # "<file>:<where>" for the report
    sample_id: str
    folder: str
    filename: str
    image_size: Optional[Sequence[Optional[float]]]  # (n_row, n_col) = (height, width) in pixels
    body_bbox: Sequence[float]  # [x1, y1, x2, y2] pixels
    categories: List[str]  # as written in the file
    vad: Optional[Dict[str, Optional[float]]]  # 1-10 ratings; None or None values when missing
    gender: Optional[str]
    age: Optional[str]
    n_annotators: Optional[int]  # None where the source does not say (CSV)


def format_box(box: Sequence[float]) -> str:
    """Prompt convention shared by all tasks: normalized [x1, y1, x2, y2], 2 decimals, clamped."""
    return "[" + ", ".join(f"{min(max(v, 0.0), 1.0):.2f}" for v in box) + "]"


def normalized_box(bbox: Sequence[float], width: float, height: float) -> Optional[List[float]]:
    """Pixel xyxy -> normalized xyxy clamped to the image; None when it has no area left.
    Corners given in the wrong order are swapped: the box is still the same rectangle."""
    x1, y1, x2, y2 = bbox
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    box = [
        min(max(x1 / width, 0.0), 1.0),
        min(max(y1 / height, 0.0), 1.0),
        min(max(x2 / width, 0.0), 1.0),
        min(max(y2 / height, 0.0), 1.0),
    ]
    if box[2] <= box[0] or box[3] <= box[1]:
        return None
    return [round(v, 4) for v in box]


def complete_vad(vad: Optional[Dict[str, Optional[float]]]) -> Optional[Dict[str, float]]:
    """The three ratings, or None when any is missing (NaN in the release): a partial triple
    would make the VAD error incomparable between persons."""
    if not vad or any(vad.get(key) is None for key in VAD_KEYS):
        return None
    return {key: float(vad[key]) for key in VAD_KEYS}


class PersonConverter:
    """Checks a PersonRecord against the dataset root and builds its Sample."""

    def __init__(self, root: Path, image_dirs: Sequence[str], source: str):
        self.root = Path(root)
        self.image_dirs = tuple(image_dirs)  # folders under root tried in order ("" = root itself)
        self.source = source
        self.index = ImageIndex(self.root)

    def image_path(self, person: PersonRecord) -> Union[str, Skip]:
        candidates = []
        for base in self.image_dirs:
            relative = "/".join(part for part in (base, person.folder, person.filename) if part)
            # An escaping path raises PathEscapeError on purpose: conversion refuses the file.
            candidate = safe_relative_path(self.root, relative, person.ref)
            if self.index.exists(candidate):
                return candidate
            candidates.append(candidate)
        return Skip(person.ref, "image not found", detail=" or ".join(candidates))

    def convert(self, person: PersonRecord) -> Union[Sample, Skip]:
        if not person.folder or not person.filename:
            return Skip(person.ref, "malformed record", detail="empty folder or filename")
        image = self.image_path(person)
        if isinstance(image, Skip):
            return image
        if person.n_annotators == 0:
            return Skip(person.ref, "no annotators")
        if not person.categories:
            return Skip(person.ref, "no emotion categories")
        canonical = [release_category(name) for name in person.categories]
        unknown = [name for name, known in zip(person.categories, canonical) if known is None]
        if unknown:
            return Skip(person.ref, "unknown emotion category", detail=", ".join(map(repr, unknown)))
        size = person.image_size or ()
        if len(size) != 2 or any(v is None or not v > 0 for v in size):
            return Skip(person.ref, "invalid image size", detail=repr(list(size)))
        height, width = float(size[0]), float(size[1])
        bbox = list(person.body_bbox)
        if len(bbox) != 4 or any(v != v for v in bbox):  # v != v: NaN
            return Skip(person.ref, "invalid body box", detail=repr(bbox))
        box = normalized_box(bbox, width, height)
        if box is None:
            return Skip(person.ref, "invalid body box", detail=f"{bbox} has no area inside {width:g}x{height:g}")
        target = {
            "categories": in_canonical_order(canonical),
            "vad": complete_vad(person.vad),
            "box": box,
            "image_size": [int(width), int(height)],
            "gender": person.gender or None,
            "age": person.age or None,
            "n_annotators": person.n_annotators,
            "source": self.source,
        }
        return Sample(id=person.sample_id, image=image, prompt_fields={"box": format_box(box)}, target=target)

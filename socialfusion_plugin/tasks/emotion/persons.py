"""One annotated person, whichever file it came from, turned into a Sample or a Skip.

Both readers (the official .mat and the CSV conversion) fill a `PersonRecord`; the checks and
the ground truth stored in the record's meta are decided here once, so the two sources convert
the same person identically.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

from ..base import Sample, Skip
from ..geometry import InvalidBox, finite_number, format_box, pixel_box, rounded
from ..paths import ImageFiles, safe_relative_path
from .labels import in_canonical_order, release_category

VAD_KEYS = ("valence", "arousal", "dominance")
VAD_RANGE = (1.0, 10.0)  # EMOTIC's continuous scale; combined (val/test) ratings are means within it


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


def convert_person(person: PersonRecord, images: ImageFiles, image_dirs: Sequence[str],
                   source: str) -> Union[Sample, Skip]:
    """`person` checked against the dataset root and turned into its Sample. `image_dirs`: the folders
    under the root tried in order for its image ("" = the root itself)."""
    if not person.folder or not person.filename:
        return Skip(person.ref, "malformed record", detail="empty folder or filename")
    # An escaping path raises PathEscapeError on purpose: conversion refuses the file.
    relatives = ("/".join(part for part in (base, person.folder, person.filename) if part) for base in image_dirs)
    candidates = [safe_relative_path(images.root, relative, person.ref) for relative in relatives]
    image = next((candidate for candidate in candidates if images.exists(candidate)), None)
    if image is None:
        return Skip(person.ref, "image not found", detail=" or ".join(candidates))
    if person.n_annotators == 0:
        return Skip(person.ref, "no annotators")
    if not person.categories:
        return Skip(person.ref, "no emotion categories")
    canonical = [release_category(name) for name in person.categories]
    unknown = [name for name, known in zip(person.categories, canonical) if known is None]
    if unknown:
        return Skip(person.ref, "unknown emotion category", detail=", ".join(map(repr, unknown)))
    size = [finite_number(v) for v in person.image_size or ()]
    # whole pixels: a fractional size is damage (the record stores the size as integers)
    if len(size) != 2 or any(v is None or not v > 0 or not v.is_integer() for v in size):
        return Skip(person.ref, "invalid image size", detail=repr(list(person.image_size or ())))
    height, width = size
    bbox = list(person.body_bbox)
    if len(bbox) != 4:
        return Skip(person.ref, "invalid body box", detail=repr(bbox))
    try:  # a little past the border is clamped; inverted corners are refused (tasks/geometry.py)
        box = rounded(pixel_box(bbox, width, height, digits=4), 4)
    except InvalidBox as err:
        return Skip(person.ref, "invalid body box", detail=f"{err} (image {width:g}x{height:g})")
    vad = person.vad or {}
    ratings = {key: vad[key] for key in VAD_KEYS if vad.get(key) is not None}
    # present but infinite (or too large for a float): unlike a missing (NaN) rating, such a
    # value is damage, and JSON cannot hold it
    bad_ratings = [f"{key} {value!r}" for key, value in ratings.items() if finite_number(value) is None]
    if bad_ratings:
        return Skip(person.ref, "non-finite rating", detail=", ".join(bad_ratings))
    # finite but outside EMOTIC's 1-10 scale: kept, they would be scored as if they were ratings
    low, high = VAD_RANGE
    outside = [f"{key} {value!r}" for key, value in ratings.items() if not low <= value <= high]
    if outside:
        return Skip(person.ref, "rating out of range",
                    detail=f"{', '.join(outside)} (the scale is {low:g}-{high:g})")
    readable = images.check(image, person.ref)  # the file training will open must open
    if isinstance(readable, Skip):
        return readable
    target = {
        "categories": in_canonical_order(canonical),
        # a partial triple (a rating missing: NaN in the release) would make the VAD error
        # incomparable between persons
        "vad": {key: float(ratings[key]) for key in VAD_KEYS} if len(ratings) == len(VAD_KEYS) else None,
        "box": box,
        "image_size": [int(width), int(height)],
        "gender": person.gender or None,
        "age": person.age or None,
        "n_annotators": person.n_annotators,
        "source": source,
    }
    return Sample(id=person.sample_id, image=image, prompt_fields={"box": format_box(box)}, target=target,
                  ref=person.ref)

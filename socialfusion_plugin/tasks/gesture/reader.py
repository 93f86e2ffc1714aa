"""Reads HaGRIDv2 as released: `hagrid_annotations/<split>/<class>.json` ({image_id: record}) and
`hagrid_dataset/<class>/<image_id>.jpg`. One source record = one image entry of a class file.
Also the label vocabulary: the 34 canonical class names in the reference id order, and the spellings
older releases and archive names use for them."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ...json_records import InputFileError, check_input_file, iter_json_object, not_utf8_message
from ..base import Item, Sample, Skip
from ..geometry import InvalidBox, xywh_box
from ..paths import ImageFiles, safe_relative_path

ANNOTATIONS_DIR = "hagrid_annotations"
IMAGES_DIR = "hagrid_dataset"

NO_GESTURE = "no_gesture"

# Ids 0-33 in this order (hukenovs/hagrid configs `targets`); the order is part of the interface:
# `socialfusion tasks` lists it and ranking mode enumerates answers in it.
GESTURE_LABELS: Tuple[str, ...] = (
    "grabbing", "grip", "holy", "point", "call", "three3", "timeout", "xsign",
    "hand_heart", "hand_heart2", "little_finger", "middle_finger", "take_picture", "dislike",
    "fist", "four", "like", "mute", "ok", "one", "palm", "peace", "peace_inverted", "rock",
    "stop", "stop_inverted", "three", "three2", "two_up", "two_up_inverted", "three_gun",
    "thumb_index", "thumb_index2", NO_GESTURE,
)

_CANONICAL = frozenset(GESTURE_LABELS)

# The download archive (and so the annotation file and image folder) of hand_heart2 is named
# hands_heart2; the other spelling variants come from HaGRID v1 ("two up inverted", "no gesture").
_ALIASES = {"hands_heart2": "hand_heart2", "hands_heart": "hand_heart"}


def canonical_label(raw: object) -> Optional[str]:
    """The canonical name of a label as written in any release, or None when it is not a label."""
    if not isinstance(raw, str):
        return None
    name = "_".join(raw.strip().lower().replace("-", " ").split())
    name = _ALIASES.get(name, name)
    return name if name in _CANONICAL else None


def folder_candidates(class_name: str) -> Tuple[str, ...]:
    """Image-folder names that may hold the images of `class_name` (canonical first)."""
    aliases = tuple(alias for alias, target in sorted(_ALIASES.items()) if target == class_name)
    return (class_name,) + aliases


def label_names(keep_no_gesture: bool) -> Tuple[str, ...]:
    return GESTURE_LABELS if keep_no_gesture else tuple(n for n in GESTURE_LABELS if n != NO_GESTURE)


def class_files(root: Path, split: str, check_images: bool) -> List[str]:
    """The split's class files, in order: the independent parts of a HaGRID split."""
    annotation_dir = root / ANNOTATIONS_DIR / split
    if not annotation_dir.is_dir():
        raise FileNotFoundError(f"HaGRID annotation folder {annotation_dir} not found (expected <class>.json files)")
    files = sorted(p.name for p in annotation_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no <class>.json annotation file in {annotation_dir}")
    image_root = root / IMAGES_DIR
    if check_images and not image_root.is_dir():
        raise FileNotFoundError(
            f"HaGRID image folder {image_root} not found (or set check_images=false to convert annotations only)"
        )
    return files


def read_split(root: Path, split: str, keep_no_gesture: bool, check_images: bool) -> Iterator[Item]:
    for name in class_files(root, split, check_images):
        yield from read_class_file(root, split, name, keep_no_gesture, check_images)


def read_class_file(root: Path, split: str, name: str, keep_no_gesture: bool, check_images: bool) -> Iterator[Item]:
    images = ImageFiles(root) if check_images else None
    path = root / ANNOTATIONS_DIR / split / name
    folder_class = canonical_label(path.stem) or path.stem
    # the folder that holds this class's images: the hand_heart2 archive unpacks as hands_heart2
    folder = next((name for name in folder_candidates(folder_class) if (root / IMAGES_DIR / name).is_dir()), path.stem)
    where = f"{ANNOTATIONS_DIR}/{split}/{path.name}"
    first_line = {}
    for image_id, record, line in load_class_entries(path):
        if image_id in first_line:
            # json.load would keep the last entry and drop the first without a word: the first
            # is converted and every repeat is counted
            yield Skip(f"{where}:{image_id}", "duplicate image id",
                       detail=f"line {line}; first listed at line {first_line[image_id]}")
            continue
        first_line[image_id] = line
        yield _convert_record(root, where, folder_class, folder, image_id, record, images, keep_no_gesture)


# hand_landmarks (21 points per hand) are most of a class file's bytes and most of its parse time,
# and conversion does not use them: they are cut out before parsing. The pattern only matches an
# array made of numbers, so a partial match leaves unbalanced brackets (invalid JSON) and the file
# is then parsed in full; the result never differs from json.loads but for the landmarks.
_LANDMARKS = re.compile(r'"hand_landmarks"\s*:\s*\[[-+0-9eE.,\s\[\]]*\]')


_EXPECTED = "expected a JSON object mapping image ids to annotation records"


def load_class_file(path: Path) -> Dict[str, Any]:
    """One class file as json.load gives it (a repeated id keeps its last entry), landmarks cut."""
    return {image_id: record for image_id, record, _ in load_class_entries(path)}


def load_class_entries(path: Path) -> List[Tuple[str, Any, int]]:
    """One class file's entries (image id, record, line), in file order and with repeated ids kept.
    The file is loaded whole; files are read one at a time, so memory is bounded by the largest
    class, not by the split. Errors name the file and line (on the original text)."""
    check_input_file(path, "HaGRID annotation file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(not_utf8_message(path)) from None
    stripped = _LANDMARKS.sub('"hand_landmarks": null', text)
    if stripped is not text:
        try:
            return list(iter_json_object(path, text=stripped, what=_EXPECTED))
        except InputFileError:
            pass  # parsed again in full below, so that the error points into the file as it is
    return list(iter_json_object(path, text=text, what=_EXPECTED))


def _convert_record(root: Path, where: str, folder_class: str, folder: str, image_id: str, record: Any,
                    images: Optional[ImageFiles], keep_no_gesture: bool) -> Item:
    ref = f"{where}:{image_id}"
    if not isinstance(record, dict):
        return Skip(ref, "malformed record", detail=f"expected an object, got {type(record).__name__}")
    raw_labels = record.get("labels")
    if not isinstance(raw_labels, list) or not raw_labels:
        return Skip(ref, "no labels")
    hand_labels = []
    for raw in raw_labels:
        label = canonical_label(raw)
        if label is None:
            return Skip(ref, "unknown label", detail=str(raw))
        hand_labels.append(label)
    united = _united_labels(record.get("united_label"), ref)
    if isinstance(united, Skip):
        return united
    boxes = _hand_boxes(record.get("bboxes"), len(hand_labels), ref)
    if isinstance(boxes, Skip):
        return boxes
    gesture = image_gesture(hand_labels, united)
    if gesture == NO_GESTURE and not keep_no_gesture:
        return Skip(ref, "only no_gesture")
    # No try/except: an id that climbs out of the root must stop the conversion (PathEscapeError).
    relative = safe_relative_path(root, f"{IMAGES_DIR}/{folder}/{image_id}.jpg", ref)
    if images is not None:  # found and readable: the file training will open must open
        readable = images.check(relative, ref)
        if isinstance(readable, Skip):
            return readable
    return Sample(id=f"{folder_class}/{image_id}", ref=ref, image=relative, prompt_fields={}, target={
        "label": gesture, "hand_labels": hand_labels, "hand_boxes": boxes, "no_gesture_in_label_set": keep_no_gesture,
    })


def image_gesture(hand_labels: List[str], united: List[str]) -> str:
    """The full-frame answer: a two-handed gesture's united label first, then the first hand that
    shows a gesture (a free second hand is labelled no_gesture), else no_gesture."""
    return next((label for label in united + hand_labels if label != NO_GESTURE), NO_GESTURE)


def _united_labels(raw: Any, ref: str) -> Union[List[str], Skip]:
    """`united_label` is absent, null, a list of nulls (one-handed), or a list/string of labels."""
    if raw is None:
        return []
    entries = [raw] if isinstance(raw, str) else raw
    if not isinstance(entries, list):
        return Skip(ref, "malformed united_label", detail=repr(raw)[:80])
    labels = []
    for entry in entries:
        if entry is None:
            continue
        label = canonical_label(entry)
        if label is None:
            return Skip(ref, "unknown label", detail=str(entry))
        labels.append(label)
    return labels


def _hand_boxes(raw: Any, count: int, ref: str) -> Union[List[List[float]], Skip]:
    """Normalized [x, y, w, h] boxes -> normalized [x1, y1, x2, y2], clamped to the image; a Skip
    when they are not one box of four numbers per label, or a box is non-finite, inverted, without
    area or outside the image (tasks/geometry.py)."""
    if type(raw) is not list or len(raw) != count:
        return Skip(ref, "malformed bboxes", detail=_ONE_BOX_PER_LABEL)
    boxes = []
    for position, box in enumerate(raw):
        if type(box) is not list or len(box) != 4 or not all(type(v) in _NUMBER for v in box):
            return Skip(ref, "malformed bboxes", detail=_ONE_BOX_PER_LABEL)
        try:
            boxes.append([round(v, 4) for v in xywh_box(box, digits=4)])
        except InvalidBox as err:
            return Skip(ref, "invalid hand box", detail=f"hand {position + 1}: {err}")
    return boxes


_NUMBER = frozenset((int, float))  # exact types: bool is not a coordinate
_ONE_BOX_PER_LABEL = "expected one [x, y, w, h] per label"

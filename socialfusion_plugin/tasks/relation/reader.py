"""Reads PISC as released: a split file lists image ids, the labels file maps each image id to its
annotated pairs {"i j": label} (1-based indices into that image's boxes), and
annotation_image_info.json holds image sizes and pixel boxes. One source record = one pair.
Labels are 1-based numbers; the fine relationship (relationship.json) and the coarse domain
(domain.json) use different files, numbers and splits."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ...errors import UserInputError
from ...json_records import read_json
from ..base import Item, Sample, Skip
from ..geometry import InvalidBox, finite_number, format_box, pixel_box
from ..paths import ImageFiles, safe_relative_path

IMAGE_INFO_FILE = "annotation_image_info.json"
IMAGE_DIR = "image"

FINE = "fine"
COARSE = "coarse"
GRANULARITIES = (FINE, COARSE)

LABELS: Dict[str, Tuple[str, ...]] = {
    FINE: ("friends", "family", "couple", "professional", "commercial", "no relation"),
    COARSE: ("intimate", "non-intimate", "no relation"),
}

# (labels file, split folder, split file pattern) per granularity.
RELEASE_FILES: Dict[str, Tuple[str, str, str]] = {
    FINE: ("relationship.json", "relationship_split", "relation_{split}idx.json"),
    COARSE: ("domain.json", "domain_split", "domain_{split}idx.json"),
}


def label_from_number(raw: object, granularity: str) -> Optional[str]:
    """The label a release number (int, or a digit string) stands for, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():  # not "³" or "１"
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int):
        return None
    names = LABELS[granularity]
    return names[raw - 1] if 1 <= raw <= len(names) else None


def read_split(root: Path, split: str, granularity: str) -> Iterator[Item]:
    labels_name, split_dir, split_pattern = RELEASE_FILES[granularity]
    split_file = root / split_dir / split_pattern.format(split=split)
    split_ids = read_json(split_file, "PISC file", list, "a JSON array of image ids")
    pairs_by_image = _pairs_by_image(root / labels_name)
    image_info = _load_image_info(root / IMAGE_INFO_FILE)
    images = ImageFiles(root)
    seen = set()
    for position, entry in enumerate(split_ids):
        image_id = canonical_id(entry)
        if image_id is None:
            raise UserInputError(f"{split_file}: entry {position} is not an image id ({entry!r})")
        pairs = pairs_by_image.get(image_id)
        if pairs is None:
            # An image of the split without annotated pairs has nothing to convert: it is not a record.
            continue
        if not isinstance(pairs, dict):
            yield Skip(f"{labels_name}:{image_id}", "malformed pairs", detail="expected an object of pairs")
            continue
        duplicate = image_id in seen
        seen.add(image_id)
        for pair_key, raw_label in pairs.items():
            ref = f"{labels_name}:{image_id}:{pair_key}"
            if duplicate:
                yield Skip(ref, "duplicate image in split", detail=str(split_file.name))
                continue
            yield _convert_pair(root, ref, image_id, pair_key, raw_label, image_info.get(image_id), images, granularity)


def canonical_id(raw: Any) -> Optional[str]:
    """Image ids are strings ("00012" or "12") in keys and split files and ints in the image info:
    numeric ids compare by value."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str):
        text = raw.strip()
        return _decimal(text) if text.isdecimal() else (text or None)
    return None


def _decimal(text: str) -> str:
    """A decimal digit string by value ("00012" -> "12"), also past int()'s 4300-digit limit."""
    if text.isascii():
        return text.lstrip("0") or "0"
    return str(int(text)) if len(text) <= 100 else text  # other scripts' digits (int() reads them)


def _convert_pair(root: Path, ref: str, image_id: str, pair_key: str, raw_label: Any, info: Optional[Dict[str, Any]],
                  images: ImageFiles, granularity: str) -> Item:
    pair = _parse_pair(pair_key)
    if pair is None:
        return Skip(ref, "malformed pair", detail=f"expected two different 1-based indices 'i j', got {pair_key!r}")
    label = label_from_number(raw_label, granularity)
    if label is None:
        return Skip(ref, "unknown label", detail=str(raw_label))
    if info is None:
        return Skip(ref, "image info missing", detail=f"id {image_id} not in {IMAGE_INFO_FILE}")
    size = _image_size(info)
    boxes = info.get("bbox")
    if size is None or not isinstance(boxes, list):
        return Skip(ref, "malformed image info", detail="needs whole positive imgW, imgH and a bbox list")
    first, second = pair
    if not (1 <= first <= len(boxes) and 1 <= second <= len(boxes)):
        return Skip(ref, "pair index out of range", detail=f"pair {first} {second}, image has {len(boxes)} boxes")
    normalized = []
    for index in pair:
        box = boxes[index - 1]
        if not isinstance(box, list) or len(box) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                                             for v in box):
            return Skip(ref, "malformed box", detail="expected [x1, y1, x2, y2] in pixels")
        try:  # a box a little past the border is clamped; inverted corners are refused (tasks/geometry.py)
            normalized.append(pixel_box(box, *size, digits=4))
        except InvalidBox as err:
            return Skip(ref, "invalid box", detail=f"box {index}: {err}")
    candidates = _candidate_paths(image_id)
    # No try/except: an id that climbs out of the root must stop the conversion (PathEscapeError).
    relative = next((path for path in (safe_relative_path(root, c, ref) for c in candidates) if images.exists(path)),
                    None)
    if relative is None:
        return Skip(ref, "image not found", detail=candidates[0])
    readable = images.check(relative, ref)  # the file training will open must open
    if isinstance(readable, Skip):
        return readable
    prompt_fields = {"box1": format_box(normalized[0]), "box2": format_box(normalized[1]),
                     "choices": ", ".join(LABELS[granularity])}
    return Sample(id=f"{image_id}_{first}_{second}", ref=ref, image=relative, prompt_fields=prompt_fields, target={
        "label": label, "granularity": granularity, "image_id": image_id, "pair": [first, second],
        "boxes": [[round(v, 4) for v in box] for box in normalized],
    })


def _parse_pair(key: Any) -> Optional[Tuple[int, int]]:
    parts = str(key).split()
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        return None
    first, second = int(parts[0]), int(parts[1])
    return (first, second) if first != second else None


def _image_size(info: Dict[str, Any]) -> Optional[Tuple[float, float]]:
    size = finite_number(info.get("imgW")), finite_number(info.get("imgH"))
    # whole pixels; 640.5 is damage, not a size
    return size if all(v is not None and v > 0 and v.is_integer() for v in size) else None


def _candidate_paths(image_id: str) -> List[str]:
    """Zero-padded to 5 digits as released; some copies use the bare id. Padded is tried first."""
    padded = [image_id.zfill(5)] if image_id.isascii() and image_id.isdigit() else []
    return [f"{IMAGE_DIR}/{name}.jpg" for name in dict.fromkeys(padded + [image_id])]


def _pairs_by_image(path: Path) -> Dict[str, Any]:
    """The labels file keyed by canonical image id ("00012" and "12" are the same image)."""
    raw = read_json(path, "PISC file", dict, 'an object {"<image id>": {"<i> <j>": label}}')
    by_id: Dict[str, Any] = {}
    for key, pairs in raw.items():
        image_id = canonical_id(key)
        if image_id is None or image_id in by_id:
            raise UserInputError(f"{path}: image id {key!r} is empty or listed twice")
        by_id[image_id] = pairs
    return by_id


def _load_image_info(path: Path) -> Dict[str, Dict[str, Any]]:
    entries = read_json(path, "PISC file", list, 'a JSON array of {"id", "imgW", "imgH", "bbox"} objects')
    by_id: Dict[str, Dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        image_id = canonical_id(entry.get("id")) if isinstance(entry, dict) else None
        if image_id is None:
            raise UserInputError(f"{path}: entry {index} has no 'id'")
        by_id[image_id] = entry
    return by_id

"""Tiny HaGRIDv2 releases in the real on-disk format, with the quirks of the real download."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, Tuple

from PIL import Image

MISSING = object()


def hand_record(labels, bboxes=MISSING, united_label=MISSING, united_bbox=MISSING, user_id="u1"):
    """One annotation record as in hagrid_annotations/<split>/<class>.json."""
    if bboxes is MISSING:
        bboxes = [[0.1 + 0.4 * i, 0.2, 0.3, 0.5] for i in range(len(labels))]
    record = {
        "bboxes": bboxes,
        "labels": labels,
        "user_id": user_id,
        "hand_landmarks": [[[0.2, 0.3]] * 21 for _ in labels],
        "meta": {"age": [30.5], "gender": ["female"], "race": ["White"]},
    }
    if united_label is not MISSING:
        record["united_label"] = united_label
    if united_bbox is not MISSING:
        record["united_bbox"] = united_bbox
    return record


def write_release(root: Path, annotations: Dict[Tuple[str, str], Dict[str, object]],
                  images: Iterable[Tuple[str, str]]) -> Path:
    """annotations: (split, file stem) -> {image_id: record}; images: (folder, image_id) to create."""
    for (split, stem), records in annotations.items():
        path = root / "hagrid_annotations" / split / f"{stem}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    (root / "hagrid_dataset").mkdir(parents=True, exist_ok=True)
    for folder, image_id in images:
        path = root / "hagrid_dataset" / folder / f"{image_id}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (120, 30, 200)).save(path)
    return root


def standard_release(root: Path) -> Path:
    """Every quirk datasets.md lists, plus one malformed record of each kind (train split), and a
    small clean test split for round trips."""
    box = [0.1, 0.1, 0.5, 0.5]
    annotations = {
        ("train", "like"): {
            "like-single": hand_record(["like"], united_label=[None], united_bbox=[None]),
            "like-free-hand": hand_record(["no_gesture", "like"]),  # united_* absent
            "like-only-free-hand": hand_record(["no_gesture"], united_label=None, united_bbox=None),
            "like-no-image": hand_record(["like"]),
            "like-unknown": hand_record(["thumbs sideways"]),
            "like-list": ["like"],
            "like-empty": hand_record([]),
            "like-bad-boxes": hand_record(["like"], bboxes=[[0.1, 0.2]]),
            "like-bad-united": hand_record(["like"], united_label={"label": "like"}),
        },
        # The hand_heart2 archive is named hands_heart2: annotation file and image folder.
        ("train", "hands_heart2"): {
            "heart2-two-hands": hand_record(["hand_heart2", "hand_heart2"], united_label=["hand_heart2"],
                                            united_bbox=[box]),
        },
        # HaGRID v1 spellings with spaces.
        ("train", "two_up_inverted"): {
            "tui-old-names": hand_record(["no gesture", "two up inverted"], united_label=[None, None]),
        },
        ("train", "thumb_index2"): {
            "ti2-united": hand_record(["thumb_index", "thumb_index"], united_label=["thumb_index2"], united_bbox=[box]),
        },
        ("train", "no_gesture"): {
            "ng-1": hand_record(["no_gesture"]),
        },
        ("test", "peace"): {"peace-1": hand_record(["peace"]), "peace-2": hand_record(["no_gesture", "peace"])},
        ("test", "stop_inverted"): {"stop-inv-1": hand_record(["stop_inverted"])},
        ("test", "no_gesture"): {"ng-test": hand_record(["no_gesture"])},
    }
    images = [(stem, image_id) for (_, stem), records in annotations.items() for image_id in records
              if image_id != "like-no-image"]
    return write_release(root, annotations, images)

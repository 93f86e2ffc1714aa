"""A HaGRIDv2 release whose gesture is visible: the hand box is filled with the gesture's colour.

Format as released (hagrid_annotations/<split>/<class>.json + hagrid_dataset/<class>/<id>.jpg,
boxes [x, y, w, h] normalized), written with the fixture writers of releases/hagrid.py. One train
record's image is left out on purpose, so the conversion report shows a counted skip.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

from ..releases.hagrid import hand_record, write_release
from .canvas import fill_box, new_canvas, pixels, random_box, save_jpeg, task_rng

GESTURE_COLORS = {  # four of the 34 classes; each one's hand box is filled with its colour
    "like": (230, 40, 40),
    "peace": (40, 200, 60),
    "palm": (40, 80, 240),
    "fist": (250, 230, 40),
}
MISSING_IMAGE_ID = "like-train-missing"


def build(root: Path, seed: int, train_per_class: int, test_per_class: int) -> Path:
    root = Path(root)
    rng = task_rng(seed, "gesture")
    annotations: Dict = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        for label, color in GESTURE_COLORS.items():
            records = annotations.setdefault((split, label), {})
            for index in range(per_class):
                image_id = f"{label}-{split}-{index:03d}"
                box = random_box(rng, 0.35, 0.5)
                image = new_canvas(rng)
                fill_box(image, pixels(box), color)
                save_jpeg(image, root / "hagrid_dataset" / label / f"{image_id}.jpg")
                xywh = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
                records[image_id] = hand_record([label], bboxes=[xywh], united_label=[None], united_bbox=[None],
                                                user_id=f"user-{split}-{index % 7}")
    annotations[("train", "like")][MISSING_IMAGE_ID] = hand_record(["like"])  # its image is never written
    return write_release(root, annotations, images=())

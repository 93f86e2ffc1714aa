"""A PISC release whose relationship is visible: both people of a pair are boxes filled with the
relationship's colour.

Format as released (annotation_image_info.json with pixel boxes, relationship.json and domain.json
with 1-based labels, split files, image/NNNNN.jpg), written with releases/pisc.py's writers. One
train image is left out on purpose, so the conversion report shows a counted skip.
"""
from __future__ import annotations

from pathlib import Path

from ..releases.pisc import write_release
from .canvas import SIZE, fill_box, new_canvas, pixels, random_box, save_jpeg, task_rng

# Three of the six fine relationships, one per coarse domain. Value: (fine number, coarse number, colour).
RELATION_CUES = {
    "friends": (1, 1, (250, 140, 20)),
    "professional": (4, 2, (20, 210, 220)),
    "no relation": (6, 3, (170, 40, 210)),
}


def build(root: Path, seed: int, train_per_class: int, test_per_class: int) -> Path:
    root = Path(root)
    rng = task_rng(seed, "relation")
    image_info, relationship, domain = [], {}, {}
    splits = {"train": [], "val": [], "test": []}
    image_id = 0
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        for index in range(per_class):
            for name, (fine, coarse, color) in RELATION_CUES.items():
                image_id += 1
                key = f"{image_id:05d}"
                left = random_box(rng, 0.25, 0.4, within=(0.0, 0.05, 0.48, 0.95))
                right = random_box(rng, 0.25, 0.4, within=(0.52, 0.05, 1.0, 0.95))
                image = new_canvas(rng)
                for box in (left, right):
                    fill_box(image, pixels(box), color)
                image_info.append({"id": image_id, "imgW": SIZE, "imgH": SIZE,
                                   "bbox": [[int(v) for v in pixels(left)], [int(v) for v in pixels(right)]]})
                relationship[key] = {"1 2": fine}
                domain[key] = {"1 2": coarse}
                splits[split].append(key)
                if not (split == "train" and index == 0 and fine == 1):  # one image missing on purpose
                    save_jpeg(image, root / "image" / f"{key}.jpg")
    return write_release(root, image_info, relationship, domain, splits, dict(splits), image_files=())

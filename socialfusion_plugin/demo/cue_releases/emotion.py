"""An EMOTIC release whose emotions are visible: each category a person feels paints one quadrant
of the person's box in that category's colour (the rest of the box is a plain body colour).

Format as released (Annotations/Annotations.mat with train / val / test struct arrays, images under
<folder>/<filename>), written with releases/emotic.py's MATLAB writers. One train image is left out
on purpose, so the conversion report shows a counted skip.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

from ..releases.emotic import COCO, image_entry, test_person, train_person, write_mat
from .canvas import SIZE, fill_box, new_canvas, pixels, random_box, save_jpeg, task_rng

BODY_COLOR = (120, 80, 50)
# Four of the 26 categories: (quadrant of the person box as (column, row), colour).
EMOTION_CUES = {
    "Anger": ((0, 0), (255, 0, 120)),
    "Fear": ((1, 0), (0, 255, 170)),
    "Happiness": ((0, 1), (255, 255, 160)),
    "Sadness": ((1, 1), (20, 20, 150)),
}
MISSING_IMAGE = "COCO_train_missing.jpg"


def quadrant(box: List[float], column: int, row: int) -> List[float]:
    x1, y1, x2, y2 = box
    mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
    return [(x1, mid_x)[column], (y1, mid_y)[row], (mid_x, x2)[column], (mid_y, y2)[row]]


def _person_image(rng, categories: List[str]):
    box = random_box(rng, 0.55, 0.85)
    image = new_canvas(rng)
    fill_box(image, pixels(box), BODY_COLOR)
    for name in categories:
        (column, row), color = EMOTION_CUES[name]
        fill_box(image, pixels(quadrant(box, column, row)), color)
    return image, [round(v) for v in pixels(box)]


def _categories(rng, index: int) -> List[str]:
    """Every category equally often as the first; a second one for about a third of the persons."""
    names = list(EMOTION_CUES)
    chosen = [names[index % len(names)]]
    if rng.random() < 1 / 3:
        chosen.append(rng.choice([n for n in names if n != chosen[0]]))
    return chosen


def build(root: Path, seed: int, train_count: int, test_count: int, val_count: int = 4) -> Path:
    root = Path(root)
    rng = task_rng(seed, "emotion")
    splits: Dict[str, List[Dict]] = {}
    for split, count in (("train", train_count), ("val", val_count), ("test", test_count)):
        entries = []
        for index in range(count):
            categories = _categories(rng, index)
            image, box = _person_image(rng, categories)
            vad = (rng.randint(1, 10), rng.randint(1, 10), rng.randint(1, 10))
            if split == "train":
                person = train_person(box, categories, vad=vad)
            else:  # two annotators agree; the combined set is theirs
                person = test_person(box, [categories, categories], categories, combined_vad=vad)
            filename = f"COCO_{split}_{index:04d}.jpg"
            entries.append(image_entry(filename, COCO, SIZE, SIZE, [person]))
            save_jpeg(image, root / COCO / filename)
        splits[split] = entries
    missing = train_person([0, 0, 32, 32], ["Happiness"])
    splits["train"].append(image_entry(MISSING_IMAGE, COCO, SIZE, SIZE, [missing]))  # image never written
    write_mat(root / "Annotations" / "Annotations.mat", splits)
    return root

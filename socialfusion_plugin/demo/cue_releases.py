"""Synthetic releases of the five datasets in their original formats in which every label is
VISIBLE in the image, so a model can learn it (the demo's training data). The quirk fixtures in
`releases` test the converters; these test that the pipeline learns. They are written with the
fixtures' own writers, and each leaves one image out on purpose, so every conversion report shows a
counted skip.

The cue of each task, drawn on a 64x64 image:
- gesture:    the hand box is filled with the gesture's colour (4 gestures);
- relation:   both boxes of the pair are filled with the relationship's colour (3 relationships);
- emotion:    each category the person feels paints one quadrant of the person box (4 categories);
- gaze:       a bright dot at the point the person with the skin-coloured head box looks at;
- gaze_video: the same in video frames, and no dot when the target is out of frame.
Cues are large flat colours on a plain background because the demo's vision tower is a tiny random
ViT that sees 32x32 pixels in 8x8 patches: a colour that fills a patch survives its random patch
embedding (a linear map of the patch's pixels), while fine shapes and textures would not. Images
are 64x64, so every cue still covers at least one patch after the tower's resize to 32x32.
Everything is drawn from the seed: the same seed writes the same files.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from PIL import Image, ImageDraw

from ..data_layout import DataLayout
from .releases import gazefollow, hagrid, pisc, video_attention_target as vat
from .releases.emotic import COCO, image_entry, test_person, train_person, write_mat

SIZE = 64  # pixels, square: the tower's processor center-crops, a square image loses nothing


@dataclass(frozen=True)
class CueReleaseSizes:
    """Samples per split (per class where the task has classes in equal numbers)."""

    gesture_train_per_class: int = 16
    gesture_test_per_class: int = 10
    relation_train_per_class: int = 20
    relation_test_per_class: int = 12
    emotion_train: int = 64
    emotion_test: int = 40
    gaze_train: int = 48
    gaze_test: int = 24
    gaze_video_train: int = 48
    gaze_video_test: int = 24

    def __post_init__(self):
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"CueReleaseSizes.{name} must be an integer >= 2, got {value!r}")


def write_cue_releases(root: Path, seed: int, sizes: CueReleaseSizes = CueReleaseSizes()) -> Dict[str, Path]:
    """Every built-in task's release where the data layout puts it (`root/<task>/`, as the shipped
    recipes expect): {task name: dataset root}."""
    layout = DataLayout(Path(root))
    builds = {"gesture": (build_gesture, sizes.gesture_train_per_class, sizes.gesture_test_per_class),
              "relation": (build_relation, sizes.relation_train_per_class, sizes.relation_test_per_class),
              "gaze": (build_gaze, sizes.gaze_train, sizes.gaze_test),
              "gaze_video": (build_gaze_video, sizes.gaze_video_train, sizes.gaze_video_test),
              "emotion": (build_emotion, sizes.emotion_train, sizes.emotion_test)}
    # one generator per task and seed: a task's release does not change when another's does
    return {task: build(layout.release(task), random.Random(f"socialfusion-demo:{task}:{seed}"), train, test)
            for task, (build, train, test) in builds.items()}


# ---- drawing -------------------------------------------------------------------------------------

def new_canvas(rng: random.Random) -> Image.Image:
    """A plain gray background whose brightness varies a little from image to image (no cue)."""
    level = rng.randint(110, 146)
    return Image.new("RGB", (SIZE, SIZE), (level, level, level))


def fill_box(image: Image.Image, box_xyxy: Sequence[float], color: Tuple[int, int, int]) -> None:
    """Fill a pixel box [x1, y1, x2, y2) (end exclusive) with one colour."""
    x1, y1, x2, y2 = (int(round(v)) for v in box_xyxy)
    ImageDraw.Draw(image).rectangle([x1, y1, x2 - 1, y2 - 1], fill=color)


def random_box(rng: random.Random, min_side: float, max_side: float, within=(0.0, 0.0, 1.0, 1.0)) -> list:
    """A normalized [x1, y1, x2, y2] box with sides in [min_side, max_side] inside `within`, on a
    pixel grid (so the drawn box and the annotated one are the same pixels)."""
    wx1, wy1, wx2, wy2 = within
    width = rng.uniform(min_side, min(max_side, wx2 - wx1))
    height = rng.uniform(min_side, min(max_side, wy2 - wy1))
    x1 = rng.uniform(wx1, wx2 - width)
    y1 = rng.uniform(wy1, wy2 - height)
    return [round(v * SIZE) / SIZE for v in (x1, y1, x1 + width, y1 + height)]


def pixels(box: Sequence[float]) -> list:
    return [v * SIZE for v in box]


def save_jpeg(image: Image.Image, path: Path) -> None:
    """JPEG, as the real releases ship; fixed quality so the same seed writes the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=95, subsampling=0)


# ---- gesture: HaGRIDv2 (hagrid_annotations/<split>/<class>.json, boxes [x, y, w, h] normalized) ----

GESTURE_COLORS = {  # four of the 34 classes; each one's hand box is filled with its colour
    "like": (230, 40, 40),
    "peace": (40, 200, 60),
    "palm": (40, 80, 240),
    "fist": (250, 230, 40),
}


def build_gesture(root: Path, rng: random.Random, train_per_class: int, test_per_class: int) -> Path:
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
                records[image_id] = hagrid.hand_record([label], bboxes=[xywh], united_label=[None],
                                                       united_bbox=[None], user_id=f"user-{split}-{index % 7}")
    annotations[("train", "like")]["like-train-missing"] = hagrid.hand_record(["like"])  # image never written
    return hagrid.write_release(root, annotations, images=())


# ---- relation: PISC (annotation_image_info.json with pixel boxes, 1-based labels, split files) ----

# Three of the six fine relationships, one per coarse domain. Value: (fine number, coarse number, colour).
RELATION_CUES = {
    "friends": (1, 1, (250, 140, 20)),
    "professional": (4, 2, (20, 210, 220)),
    "no relation": (6, 3, (170, 40, 210)),
}


def build_relation(root: Path, rng: random.Random, train_per_class: int, test_per_class: int) -> Path:
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
    return pisc.write_release(root, image_info, relationship, domain, splits, dict(splits), image_files=())


# ---- emotion: EMOTIC (Annotations/Annotations.mat with train / val / test struct arrays) -----------

BODY_COLOR = (120, 80, 50)  # the person box; each category felt paints one quadrant of it
# Four of the 26 categories: (quadrant of the person box as (column, row), colour).
EMOTION_CUES = {
    "Anger": ((0, 0), (255, 0, 120)),
    "Fear": ((1, 0), (0, 255, 170)),
    "Happiness": ((0, 1), (255, 255, 160)),
    "Sadness": ((1, 1), (20, 20, 150)),
}


def quadrant(box: List[float], column: int, row: int) -> List[float]:
    x1, y1, x2, y2 = box
    mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
    return [(x1, mid_x)[column], (y1, mid_y)[row], (mid_x, x2)[column], (mid_y, y2)[row]]


def build_emotion(root: Path, rng: random.Random, train_count: int, test_count: int) -> Path:
    names = list(EMOTION_CUES)
    splits: Dict[str, List[Dict]] = {}
    for split, count in (("train", train_count), ("val", 4), ("test", test_count)):
        entries = []
        for index in range(count):
            # every category equally often as the first; a second one for about a third of the persons
            categories = [names[index % len(names)]]
            if rng.random() < 1 / 3:
                categories.append(rng.choice([n for n in names if n != categories[0]]))
            box = random_box(rng, 0.55, 0.85)
            image = new_canvas(rng)
            fill_box(image, pixels(box), BODY_COLOR)
            for name in categories:
                (column, row), color = EMOTION_CUES[name]
                fill_box(image, pixels(quadrant(box, column, row)), color)
            body = [round(v) for v in pixels(box)]
            vad = (rng.randint(1, 10), rng.randint(1, 10), rng.randint(1, 10))
            if split == "train":
                person = train_person(body, categories, vad=vad)
            else:  # two annotators agree; the combined set is theirs
                person = test_person(body, [categories, categories], categories, combined_vad=vad)
            filename = f"COCO_{split}_{index:04d}.jpg"
            entries.append(image_entry(filename, COCO, SIZE, SIZE, [person]))
            save_jpeg(image, root / COCO / filename)
        splits[split] = entries
    missing = train_person([0, 0, 32, 32], ["Happiness"])
    splits["train"].append(image_entry("COCO_train_missing.jpg", COCO, SIZE, SIZE, [missing]))  # image never written
    write_mat(root / "Annotations" / "Annotations.mat", splits)
    return root


# ---- gaze: a skin-coloured head box, and a bright dot where the person looks ------------------------

HEAD_COLOR = (230, 180, 140)
TARGET_COLOR = (255, 255, 255)
TARGET_RADIUS = 4  # pixels of the 64x64 image: the dot covers most of one patch after the resize to 32
ANNOTATORS = 3  # per GazeFollow test person
OUT_OF_FRAME_SHARE = 0.2  # of the video frames
FRAMES_PER_TRACK = 8


def gaze_scene(rng: random.Random, in_frame: bool = True) -> Tuple[Image.Image, List[float], Optional[List[float]]]:
    """(image, head box normalized xyxy, gaze point normalized (x, y) or None when out of frame)."""
    head = random_box(rng, 0.12, 0.18, within=(0.05, 0.05, 0.95, 0.95))
    center = ((head[0] + head[2]) / 2, (head[1] + head[3]) / 2)
    target = None
    if in_frame:
        while target is None or math.dist(target, center) < 0.3:
            target = [round(rng.uniform(0.1, 0.9), 2), round(rng.uniform(0.1, 0.9), 2)]
    image = new_canvas(rng)
    fill_box(image, pixels(head), HEAD_COLOR)
    if target is not None:
        x, y = target[0] * SIZE, target[1] * SIZE
        ImageDraw.Draw(image).ellipse([x - TARGET_RADIUS, y - TARGET_RADIUS, x + TARGET_RADIUS, y + TARGET_RADIUS],
                                      fill=TARGET_COLOR)
    return image, head, target


def eye_point(head: List[float]) -> List[float]:
    return [round((head[0] + head[2]) / 2, 3), round((head[1] + head[3]) / 2, 3)]


def build_gaze(root: Path, rng: random.Random, train_count: int, test_count: int) -> Path:
    """GazeFollow (extended), in releases/gazefollow.py's format. Test annotators scatter a little
    around the marked point, as real annotators do."""
    train_lines, test_lines = [], []
    for index in range(train_count):
        image, head, target = gaze_scene(rng)
        relative = f"train/00000000/{index:08d}.jpg"
        save_jpeg(image, root / relative)
        train_lines.append(gazefollow.train_row(relative, index, eye_point(head), target, _head_pixels(head), 1))
    train_lines.append(gazefollow.train_row("train/00000000/99999999.jpg", train_count, (0.5, 0.5), (0.2, 0.2),
                                            (8.0, 8.0, 16.0, 16.0), 1))  # image never written
    for index in range(test_count):
        image, head, target = gaze_scene(rng)
        relative = f"test2/00000000/{index:08d}.jpg"
        save_jpeg(image, root / relative)
        for annotator in range(ANNOTATORS):
            point = [min(1.0, max(0.0, round(v + rng.uniform(-0.03, 0.03), 3))) for v in target]
            test_lines.append(gazefollow.annotator_row(relative, index * ANNOTATORS + annotator, eye_point(head),
                                                       point, _head_pixels(head)))
    gazefollow.write_lines(root / gazefollow.TRAIN_FILE, train_lines)
    gazefollow.write_lines(root / gazefollow.TEST_FILE, test_lines)
    return root


def _head_pixels(box) -> tuple:
    return tuple(float(round(v * SIZE)) for v in box)


def build_gaze_video(root: Path, rng: random.Random, train_count: int, test_count: int) -> Path:
    """VideoAttentionTarget, in releases/video_attention_target.py's format, one person (track s00) per
    clip. Each frame is its own scene: the cue, not the motion, is what the demo is about."""
    for split, count, show in (("train", train_count, vat.SHOW), ("test", test_count, vat.OTHER_SHOW)):
        tracks = {}
        for index in range(count):
            start = 1000 + index // FRAMES_PER_TRACK * 100
            clip = f"{start}_{start + 99}"
            frame = index % FRAMES_PER_TRACK + 1
            image, head, target = gaze_scene(rng, in_frame=rng.random() >= OUT_OF_FRAME_SHARE)
            save_jpeg(image, root / "images" / show / clip / vat.frame_name(frame))
            gaze = (-1, -1) if target is None else tuple(round(v * SIZE, 1) for v in target)
            tracks.setdefault(clip, []).append(vat.line(frame, tuple(round(v * SIZE) for v in head), gaze))
        if split == "train":
            first = sorted(tracks)[0]
            tracks[first].append(vat.line(FRAMES_PER_TRACK + 1, (8, 8, 16, 16), (32, 32)))  # frame never written
        for clip, lines in tracks.items():
            vat.write_track(root, split, show, clip, "s00", lines)
    return root

"""The gaze cue shared by the two gaze releases: a skin-coloured head box, and a bright dot where
the person looks (no dot when the target is out of frame)."""
from __future__ import annotations

import math
import random
from typing import List, Optional, Tuple

from PIL import Image

from .canvas import SIZE, draw_dot, fill_box, new_canvas, pixels, random_box

HEAD_COLOR = (230, 180, 140)
TARGET_COLOR = (255, 255, 255)
TARGET_RADIUS = 4  # pixels of the 64x64 image: the dot covers most of one patch after the resize to 32


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
        draw_dot(image, (target[0] * SIZE, target[1] * SIZE), TARGET_RADIUS, TARGET_COLOR)
    return image, head, target


def eye_point(head: List[float]) -> List[float]:
    return [round((head[0] + head[2]) / 2, 3), round((head[1] + head[3]) / 2, 3)]

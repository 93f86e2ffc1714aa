"""Drawing the visible cues of the demo's releases: a plain canvas, filled boxes, bright dots.

Cues are large flat colours on a plain background because the demo's vision tower is a tiny random
ViT that sees 32x32 pixels in 8x8 patches: a colour that fills a patch survives its random patch
embedding (a linear map of the patch's pixels), while fine shapes and textures would not. Images
are 64x64, so every cue still covers at least one patch after the tower's resize to 32x32.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence, Tuple

from PIL import Image, ImageDraw

SIZE = 64  # pixels, square: the tower's processor center-crops, a square image loses nothing
Color = Tuple[int, int, int]


def task_rng(seed: int, task: str) -> random.Random:
    """One generator per task and seed: a task's release does not change when another's does."""
    return random.Random(f"socialfusion-demo:{task}:{seed}")


def new_canvas(rng: random.Random) -> Image.Image:
    """A plain gray background whose brightness varies a little from image to image (no cue)."""
    level = rng.randint(110, 146)
    return Image.new("RGB", (SIZE, SIZE), (level, level, level))


def fill_box(image: Image.Image, box_xyxy: Sequence[float], color: Color) -> None:
    """Fill a pixel box [x1, y1, x2, y2) (end exclusive) with one colour."""
    x1, y1, x2, y2 = (int(round(v)) for v in box_xyxy)
    ImageDraw.Draw(image).rectangle([x1, y1, x2 - 1, y2 - 1], fill=color)


def draw_dot(image: Image.Image, center_xy: Sequence[float], radius: int, color: Color) -> None:
    x, y = center_xy
    ImageDraw.Draw(image).ellipse([x - radius, y - radius, x + radius, y + radius], fill=color)


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

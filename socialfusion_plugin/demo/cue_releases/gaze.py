"""A GazeFollow (extended) release whose gaze target is visible: a bright dot marks where the
person with the skin-coloured head box looks (gaze_marks.py).

Format as released (headerless CSVs: 17 columns in train, 16 in test with one row per annotator;
eye and gaze normalized, head box in pixels), written with releases/gazefollow.py's row writers.
Test annotators scatter a little around the marked point, as real annotators do. One train row's
image is left out on purpose, so the conversion report shows a counted skip.
"""
from __future__ import annotations

from pathlib import Path

from ..releases.gazefollow import TEST_FILE, TRAIN_FILE, annotator_row, train_row, write_lines
from .canvas import SIZE, save_jpeg, task_rng
from .gaze_marks import eye_point, gaze_scene

ANNOTATORS = 3


def build(root: Path, seed: int, train_count: int, test_count: int) -> Path:
    root = Path(root)
    rng = task_rng(seed, "gaze")
    train_lines, test_lines = [], []
    for index in range(train_count):
        image, head, target = gaze_scene(rng)
        relative = f"train/00000000/{index:08d}.jpg"
        save_jpeg(image, root / relative)
        train_lines.append(train_row(relative, index, eye_point(head), target, _pixels(head), 1))
    train_lines.append(train_row("train/00000000/99999999.jpg", train_count, (0.5, 0.5), (0.2, 0.2),
                                 (8.0, 8.0, 16.0, 16.0), 1))  # image never written
    for index in range(test_count):
        image, head, target = gaze_scene(rng)
        relative = f"test2/00000000/{index:08d}.jpg"
        save_jpeg(image, root / relative)
        for annotator in range(ANNOTATORS):
            point = [min(1.0, max(0.0, round(v + rng.uniform(-0.03, 0.03), 3))) for v in target]
            test_lines.append(annotator_row(relative, index * ANNOTATORS + annotator, eye_point(head), point,
                                            _pixels(head)))
    write_lines(root / TRAIN_FILE, train_lines)
    write_lines(root / TEST_FILE, test_lines)
    return root


def _pixels(box) -> tuple:
    return tuple(float(round(v * SIZE)) for v in box)

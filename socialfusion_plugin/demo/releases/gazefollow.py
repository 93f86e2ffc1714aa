"""Synthetic GazeFollow (extended) releases in the real format: headerless CSV, 17 columns in
train (with inout), 16 in test (one row per annotator), eye/gaze normalized, head box in pixels."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from PIL import Image

TRAIN_FILE = "train_annotations_release.txt"
TEST_FILE = "test_annotations_release.txt"
BODY = "0.1,0.1,0.5,0.8"  # body box columns: present in the release, unused by the task


def make_image(root: Path, relative: str, size=(20, 10)) -> None:
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 150)).save(path)


def train_row(path, idx, eye, gaze, box, inout) -> str:
    return ",".join([path, str(idx), BODY, *map(str, (*eye, *gaze, *box, inout)), "gazefollow", "meta"])


def annotator_row(path, idx, eye, gaze, box) -> str:
    return ",".join([path, str(idx), BODY, *map(str, (*eye, *gaze, *box)), "gazefollow", "meta"])


def write_lines(path: Path, lines: Iterable[str], bom: bool = False) -> None:
    Path(path).write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")


# Train release: each row exercises one case; images are 20x10 px unless said otherwise.
TRAIN_ROWS = [
    # 1: plain row
    train_row("train/00000000/00000001.jpg", 1, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), 1),
    # 2: a second person in the same image
    train_row("train/00000000/00000001.jpg", 2, (0.75, 0.2), (0.1, 0.9), (14.0, 0.0, 18.0, 4.0), 1),
    # 3: a second image
    train_row("train/00000000/00000002.jpg", 3, (0.5, 0.5), (0.3, 0.4), (8.0, 2.0, 12.0, 6.0), 1),
    # 4: head box partly outside the image (clamp to 20x10)
    train_row("train/00000000/00000002.jpg", 4, (0.9, 0.1), (0.2, 0.2), (16.0, -3.0, 25.0, 4.0), 1),
    # 5: target out of frame
    train_row("train/00000000/00000001.jpg", 5, (0.25, 0.3), (-1, -1), (2.0, 1.0, 6.0, 5.0), 0),
    # 6: invalid inout
    train_row("train/00000000/00000001.jpg", 6, (0.25, 0.3), (0.5, 0.5), (2.0, 1.0, 6.0, 5.0), -1),
    # 7: image not on disk
    train_row("train/00000000/00000099.jpg", 7, (0.25, 0.3), (0.5, 0.5), (2.0, 1.0, 6.0, 5.0), 1),
    # 8: unreadable number
    train_row("train/00000000/00000001.jpg", 8, (0.25, 0.3), ("abc", 0.5), (2.0, 1.0, 6.0, 5.0), 1),
    # 9: truncated row
    "train/00000000/00000001.jpg,9,0.1,0.1",
    # 10: head box entirely right of a 20 px wide image -> nothing left after clamping
    train_row("train/00000000/00000002.jpg", 10, (0.5, 0.5), (0.3, 0.4), (30.0, 2.0, 40.0, 6.0), 1),
    # 11: gaze slightly past the border with inout 1 (clamped into the image)
    train_row("train/00000001/00001000.jpg", 11, (0.5, 0.5), (1.02, -0.01), (4.0, 2.0, 8.0, 8.0), 1),
    # 12: head box with xmin > xmax: refused, never swapped (tasks/geometry.py)
    train_row("train/00000000/00000002.jpg", 12, (0.5, 0.5), (0.3, 0.4), (12.0, 2.0, 8.0, 6.0), 1),
]
TRAIN_SKIPS = {"gaze target out of frame": 1, "invalid inout": 1, "image not found": 1, "malformed row": 1,
               "too few columns": 1, "invalid head box": 2}


# Test release: one row per annotator; a person = consecutive rows with the same path and eye.
TEST_ROWS = [
    # person A (lines 1-3): two valid annotators and one missing annotation (-1)
    annotator_row("test2/00000000/00000001.jpg", 1, (0.25, 0.3), (0.6, 0.25), (2.0, 1.0, 6.0, 5.0)),
    annotator_row("test2/00000000/00000001.jpg", 2, (0.25, 0.3), (0.8, 0.75), (2.0, 1.0, 6.0, 5.0)),
    annotator_row("test2/00000000/00000001.jpg", 3, (0.25, 0.3), (-1, -1), (2.0, 1.0, 6.0, 5.0)),
    # person B (lines 4-5): same image, another eye point
    annotator_row("test2/00000000/00000001.jpg", 4, (0.75, 0.2), (0.1, 0.9), (14.0, 0.0, 18.0, 4.0)),
    annotator_row("test2/00000000/00000001.jpg", 5, (0.75, 0.2), (0.15, 0.8), (14.0, 0.0, 18.0, 4.0)),
    # line 6: a row too short to belong to anyone
    "test2/00000000/00000001.jpg,6",
    # person C (line 7): no valid annotation at all
    annotator_row("test2/00000000/00000002.jpg", 7, (0.5, 0.5), (-1, -1), (8.0, 2.0, 12.0, 6.0)),
    # person D (line 8): image not on disk
    annotator_row("test2/00000000/00000099.jpg", 8, (0.5, 0.5), (0.4, 0.4), (8.0, 2.0, 12.0, 6.0)),
    # person E (lines 9-10): one annotator's annotation is missing (-1) and ignored
    annotator_row("test2/00000000/00000002.jpg", 9, (0.3, 0.3), (0.9, 0.1), (4.0, 2.0, 8.0, 6.0)),
    annotator_row("test2/00000000/00000002.jpg", 10, (0.3, 0.3), (-1, 0.1), (4.0, 2.0, 8.0, 6.0)),
    # person F (lines 11-12): swapped head box corners: refused, never swapped
    annotator_row("test2/00000000/00000001.jpg", 11, (0.5, 0.6), (0.1, 0.9), (18.0, 0.0, 14.0, 4.0)),
    annotator_row("test2/00000000/00000001.jpg", 12, (0.5, 0.6), (0.15, 0.8), (18.0, 0.0, 14.0, 4.0)),
    # person G (lines 13-14): one annotator's gaze is unreadable: the person is a counted skip
    annotator_row("test2/00000000/00000002.jpg", 13, (0.7, 0.3), (0.9, 0.1), (4.0, 2.0, 8.0, 6.0)),
    annotator_row("test2/00000000/00000002.jpg", 14, (0.7, 0.3), ("nan", 0.1), (4.0, 2.0, 8.0, 6.0)),
]
TEST_SKIPS = {"too few columns": 1, "no valid gaze point": 1, "image not found": 1, "invalid head box": 1,
              "malformed row": 1}


def build_release(root: Path, train_rows: Sequence[str] = TRAIN_ROWS, test_rows: Sequence[str] = TEST_ROWS) -> Path:
    root = Path(root)
    for relative in ("train/00000000/00000001.jpg", "train/00000000/00000002.jpg", "test2/00000000/00000001.jpg",
                     "test2/00000000/00000002.jpg"):
        make_image(root, relative)
    make_image(root, "train/00000001/00001000.jpg", size=(16, 16))
    # the released files start with a UTF-8 BOM in some copies; a blank line is not a record
    write_lines(root / TRAIN_FILE, list(train_rows[:2]) + [""] + list(train_rows[2:]), bom=True)
    write_lines(root / TEST_FILE, test_rows)
    return root

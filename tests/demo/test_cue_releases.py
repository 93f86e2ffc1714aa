"""The demo's releases show every label in the image: read back through the converters (the real
formats), each record's image carries its label's cue at the place the annotation names."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from socialfusion_plugin import registry
from socialfusion_plugin.demo.cue_releases import (BODY_COLOR, EMOTION_CUES, GESTURE_COLORS, HEAD_COLOR, RELATION_CUES,
                                                   CueReleaseSizes, quadrant, write_cue_releases)
from socialfusion_plugin.tasks.conversion import convert

SIZES = CueReleaseSizes(gesture_train_per_class=3, gesture_test_per_class=2, relation_train_per_class=3,
                        relation_test_per_class=2, emotion_train=8, emotion_test=6, gaze_train=6, gaze_test=4,
                        gaze_video_train=10, gaze_video_test=10)
TOLERANCE = 24  # per channel: JPEG moves flat colours by a few levels


def converted_records(root: Path, out: Path, task: str, split: str):
    path = out / f"{task}_{split}.json"
    report = convert(registry.TASKS.get(task), root, split, path, progress=False)
    return json.loads(path.read_text()), report


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("cue-releases")
    return root, write_cue_releases(root / "data", seed=3, sizes=SIZES)


def pixel(image: np.ndarray, point) -> np.ndarray:
    """Median colour of the 3x3 pixels around a normalized (x, y) point."""
    height, width, _ = image.shape
    x, y = int(point[0] * width), int(point[1] * height)
    return np.median(image[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3), axis=0)


def center(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def assert_color(found, expected, where):
    assert np.abs(found - np.array(expected)).max() <= TOLERANCE, f"{where}: {found.tolist()} != {expected}"


def load(root: Path, record) -> np.ndarray:
    return np.asarray(Image.open(root / record["image"]).convert("RGB")).astype(int)


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_release_converts_with_only_its_one_counted_skip(releases, tmp_path, split):
    _, roots = releases
    for task, root in roots.items():
        records, report = converted_records(root, tmp_path, task, split)
        skips = dict(report.skip_reasons)
        assert skips == ({"image not found": 1} if split == "train" else {}), (task, split, skips)
        assert len(records) == report.converted > 0


def test_gesture_hand_box_is_filled_with_the_gestures_colour(releases, tmp_path):
    _, roots = releases
    for split in ("train", "test"):
        records, _ = converted_records(roots["gesture"], tmp_path, "gesture", split)
        assert {r["meta"]["label"] for r in records} == set(GESTURE_COLORS)
        for record in records:
            image = load(roots["gesture"], record)
            box = record["meta"]["hand_boxes"][0]
            assert_color(pixel(image, center(box)), GESTURE_COLORS[record["meta"]["label"]], record["id"])
            assert pixel(image, (0.01, 0.01) if box[0] > 0.05 or box[1] > 0.05 else (0.99, 0.99)).std() < 4


def test_relation_pair_boxes_are_filled_with_the_relationships_colour(releases, tmp_path):
    _, roots = releases
    records, _ = converted_records(roots["relation"], tmp_path, "relation", "test")
    assert {r["meta"]["label"] for r in records} == set(RELATION_CUES)
    for record in records:
        image = load(roots["relation"], record)
        for box in record["meta"]["boxes"]:
            assert_color(pixel(image, center(box)), RELATION_CUES[record["meta"]["label"]][2], record["id"])


def test_emotion_quadrants_show_exactly_the_persons_categories(releases, tmp_path):
    _, roots = releases
    for split in ("train", "test"):
        records, _ = converted_records(roots["emotion"], tmp_path, "emotion", split)
        for record in records:
            image = load(roots["emotion"], record)
            for name, ((column, row), color) in EMOTION_CUES.items():
                expected = color if name in record["meta"]["categories"] else BODY_COLOR
                assert_color(pixel(image, center(quadrant(record["meta"]["box"], column, row))), expected,
                             f"{record['id']} {name}")


def test_gaze_target_is_a_bright_dot_and_the_head_box_is_skin_coloured(releases, tmp_path):
    _, roots = releases
    records, _ = converted_records(roots["gaze"], tmp_path, "gaze", "test")
    for record in records:
        image = load(roots["gaze"], record)
        target = np.mean(record["meta"]["gaze_points"], axis=0)
        assert pixel(image, target).min() >= 230, record["id"]
        assert_color(pixel(image, center(record["meta"]["head_box"])), HEAD_COLOR, record["id"])


def test_gaze_video_frames_mark_the_target_and_only_in_frame(releases, tmp_path):
    _, roots = releases
    records, _ = converted_records(roots["gaze_video"], tmp_path, "gaze_video", "train")
    assert {r["meta"]["in_frame"] for r in records} == {True, False}
    for record in records:
        image = load(roots["gaze_video"], record)
        if record["meta"]["in_frame"]:
            assert pixel(image, record["meta"]["gaze"]).min() >= 230, record["id"]
        else:
            assert image.min(axis=2).max() < 200, record["id"]  # no bright pixel anywhere


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    def files(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    small = CueReleaseSizes(*[2] * len(SIZES.__dataclass_fields__))
    write_cue_releases(tmp_path / "a", seed=5, sizes=small)
    write_cue_releases(tmp_path / "b", seed=5, sizes=small)
    write_cue_releases(tmp_path / "c", seed=6, sizes=small)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    first, other = files(tmp_path / "a"), files(tmp_path / "c")
    assert first.keys() == other.keys() and any(first[k] != other[k] for k in first if k.endswith(".jpg"))

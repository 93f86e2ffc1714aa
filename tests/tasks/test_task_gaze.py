"""`gaze` (GazeFollow): conversion from the release files, skips, errors, golden prompts
(the CLI round trip: test_every_task.py)."""
from __future__ import annotations

import json

import pytest
from socialfusion_plugin.demo.releases.gazefollow import (
    TEST_FILE,
    TEST_SKIPS,
    TRAIN_FILE,
    TRAIN_SKIPS,
    annotator_row,
    build_release,
    train_row,
)

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert


@pytest.fixture
def task():
    return TASKS.get("gaze")


def run_convert(task, root, split, tmp_path):
    out, report = tmp_path / f"{split}.json", tmp_path / f"{split}_report.json"
    result = convert(task, root, split, out, report_path=report, progress=False)
    return json.loads(out.read_text()), json.loads(report.read_text()), result


def test_train_conversion_counts_and_skips(task, tmp_path):
    root = build_release(tmp_path / "gazefollow")
    records, report, _ = run_convert(task, root, "train", tmp_path)
    assert report["read"] == 12  # data rows; the blank line is not a record
    assert report["converted"] + report["skipped"] == report["read"]
    assert report["converted"] == 5
    assert report["skip_reasons"] == TRAIN_SKIPS
    refs = {entry["ref"]: entry["reason"] for entry in report["skipped_records"]}
    # line 3 is the blank line, so release row 5 is file line 6
    assert refs[f"{TRAIN_FILE}:6"] == "gaze target out of frame"
    assert refs[f"{TRAIN_FILE}:13"] == "invalid head box"  # row 12: corners in the wrong order, not swapped


def test_train_boxes_are_normalized_and_clamped(task, tmp_path):
    root = build_release(tmp_path / "gazefollow")
    records, _, _ = run_convert(task, root, "train", tmp_path)
    by_line = {r["id"].rsplit("line", 1)[1]: r for r in records}
    # row 1: (2,1,6,5) px in a 20x10 image
    assert by_line["1"]["meta"]["head_box"] == [0.1, 0.1, 0.3, 0.5]
    assert by_line["1"]["meta"]["image_size"] == [20, 10]
    assert by_line["1"]["meta"]["gaze_points"] == [[0.6, 0.7]]
    assert by_line["1"]["conversations"][1]["value"] == "(0.60, 0.70)"
    assert "[0.10, 0.10, 0.30, 0.50]" in by_line["1"]["conversations"][0]["value"]
    # row 3 (file line 4): (8,2)-(12,6); row 12, the same corners in the wrong order, is a skip
    assert by_line["4"]["meta"]["head_box"] == [0.4, 0.2, 0.6, 0.6]
    assert "13" not in by_line
    # row 4 (file line 5): (16,-3)-(25,4) clamped to the 20x10 image
    assert by_line["5"]["meta"]["head_box"] == [0.8, 0.0, 1.0, 0.4]
    # row 11 (file line 12): gaze (1.02, -0.01) clamped; 16x16 image
    assert by_line["12"]["meta"]["gaze_points"] == [[1.0, 0.0]]
    assert by_line["12"]["meta"]["image_size"] == [16, 16]
    # two people in one image get distinct ids
    assert by_line["1"]["image"] == by_line["2"]["image"] == "train/00000000/00000001.jpg"
    assert by_line["1"]["id"] != by_line["2"]["id"]


def test_train_golden(task, tmp_path, golden):
    root = build_release(tmp_path / "gazefollow")
    records, _, _ = run_convert(task, root, "train", tmp_path)
    golden("gaze_train", records)


def test_test_split_groups_annotators_into_one_person(task, tmp_path, golden):
    root = build_release(tmp_path / "gazefollow")
    records, report, _ = run_convert(task, root, "test", tmp_path)
    # read units: persons A to G plus the short row = 8
    assert report["read"] == 8
    assert report["converted"] == 3
    assert report["skip_reasons"] == TEST_SKIPS
    person_a, person_b, person_e = records
    assert person_a["id"] == "gaze/test/test2/00000000/00000001/line1"
    assert person_a["meta"]["gaze_points"] == [[0.6, 0.25], [0.8, 0.75]]  # the -1 annotation dropped
    assert person_a["conversations"][1]["value"] == "(0.70, 0.50)"  # mean of the annotators
    assert person_b["meta"]["head_box"] == [0.7, 0.0, 0.9, 0.4]
    assert person_b["meta"]["eye"] == [0.75, 0.2]
    assert person_e["meta"]["gaze_points"] == [[0.9, 0.1]]  # the missing (-1) annotation dropped
    assert {e["ref"]: e["reason"] for e in report["skipped_records"]} == {
        f"{TEST_FILE}:6": "too few columns",
        f"{TEST_FILE}:7": "no valid gaze point",
        f"{TEST_FILE}:8": "image not found",
        f"{TEST_FILE}:11-12": "invalid head box",  # person F: swapped corners are refused, not repaired
        f"{TEST_FILE}:13-14": "malformed row",  # person G: a NaN annotator point is damage, not ignored
    }
    golden("gaze_test", records)


def test_test_split_refuses_a_person_whose_rows_are_not_consecutive(task, tmp_path):
    box = (2.0, 1.0, 6.0, 5.0)
    rows = [
        annotator_row("test2/00000000/00000001.jpg", 1, (0.25, 0.3), (0.6, 0.25), box),
        annotator_row("test2/00000000/00000001.jpg", 2, (0.75, 0.2), (0.1, 0.9), box),
        annotator_row("test2/00000000/00000001.jpg", 3, (0.25, 0.3), (0.8, 0.75), box),
    ]
    root = build_release(tmp_path / "gazefollow", test_rows=rows)
    with pytest.raises(ValueError, match=r"test_annotations_release.txt:3: .*first seen at line 1"):
        run_convert(task, root, "test", tmp_path)


def test_missing_annotation_file(task, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train_annotations_release.txt"):
        convert(task, tmp_path / "empty", "train", tmp_path / "out.json", progress=False)
    with pytest.raises(FileNotFoundError, match="test_annotations_release.txt"):
        convert(task, tmp_path / "empty", "test", tmp_path / "out.json", progress=False)


def test_prompts_have_paraphrases_and_use_the_box(task):
    from socialfusion_plugin.tasks.conversion import load_prompts

    prompts = load_prompts(task.prompts_file)
    assert len(prompts.train) >= 4
    assert prompts.fields() == ["box"]


def test_unreadable_image_is_skipped(task, tmp_path):
    box = (2.0, 1.0, 6.0, 5.0)
    rows = [
        train_row("train/00000000/00000003.jpg", 1, (0.2, 0.2), (0.5, 0.5), box, 1),
        train_row("train/00000000/00000001.jpg", 2, (0.2, 0.2), (0.5, 0.5), box, 1),
    ]
    root = build_release(tmp_path / "gazefollow", train_rows=rows)
    (root / "train/00000000/00000003.jpg").write_bytes(b"not a jpeg")
    records, report, _ = run_convert(task, root, "train", tmp_path)
    assert report["skip_reasons"] == {"unreadable image": 1}
    assert [r["image"] for r in records] == ["train/00000000/00000001.jpg"]

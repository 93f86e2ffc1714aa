"""gesture (HaGRIDv2): conversion from the release format, skips, errors, golden records."""
from __future__ import annotations

import json

import pytest

from socialfusion_plugin.demo.releases.hagrid import hand_record, standard_release, write_release
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert

TASK = TASKS.get("gesture")


def run_convert(root, tmp_path, split="train", **options):
    out = tmp_path / "out" / f"gesture_{split}.json"
    report = convert(TASK, root, split, out, options=options, progress=False)
    return json.loads(out.read_text(encoding="utf-8")), report


def by_id(records):
    return {r["id"].split("/", 2)[2]: r for r in records}


def test_train_split_answers_every_quirk(tmp_path):
    records, report = run_convert(standard_release(tmp_path / "hagrid"), tmp_path)
    answers = {sid: r["conversations"][1]["value"] for sid, r in by_id(records).items()}
    assert answers == {
        "hand_heart2/heart2-two-hands": "hand_heart2",  # hands_heart2 file and folder
        "like/like-single": "like",  # united_* as lists of nulls
        "like/like-free-hand": "like",  # the free hand is no_gesture; united_* absent
        "like/like-only-free-hand": "no_gesture",  # only no_gesture, kept by default
        "no_gesture/ng-1": "no_gesture",
        "thumb_index2/ti2-united": "thumb_index2",  # two-handed: united_label wins
        "two_up_inverted/tui-old-names": "two_up_inverted",  # "two up inverted" / "no gesture"
    }
    heart = by_id(records)["hand_heart2/heart2-two-hands"]
    assert heart["image"] == "hagrid_dataset/hands_heart2/heart2-two-hands.jpg"
    assert heart["meta"]["hand_labels"] == ["hand_heart2", "hand_heart2"]
    # [x, y, w, h] = [0.5, 0.2, 0.3, 0.5] -> [0.5, 0.2, 0.8, 0.7]
    assert heart["meta"]["hand_boxes"][1] == [0.5, 0.2, 0.8, 0.7]
    assert all(r["meta"]["no_gesture_in_label_set"] is True for r in records)
    assert report.read == 13 and report.converted == 7 and report.skipped == 6
    assert report.converted + report.skipped == report.read
    assert dict(report.skip_reasons) == {
        "image not found": 1,
        "unknown label": 1,
        "malformed record": 1,
        "no labels": 1,
        "malformed bboxes": 1,
        "malformed united_label": 1,
    }
    details = {s["ref"]: s.get("detail") for s in report.skipped_records}
    assert details["hagrid_annotations/train/like.json:like-unknown"] == "thumbs sideways"
    assert details["hagrid_annotations/train/like.json:like-no-image"] == "hagrid_dataset/like/like-no-image.jpg"


def test_golden_train_records(tmp_path, golden):
    records, _ = run_convert(standard_release(tmp_path / "hagrid"), tmp_path)
    golden("gesture_train", records)


def test_keep_no_gesture_false_skips_only_no_gesture_images(tmp_path):
    records, report = run_convert(standard_release(tmp_path / "hagrid"), tmp_path, keep_no_gesture="false")
    labels = sorted(r["meta"]["label"] for r in records)
    assert labels == ["hand_heart2", "like", "like", "thumb_index2", "two_up_inverted"]
    assert report.skip_reasons["only no_gesture"] == 2
    assert report.read == 13 and report.converted == 5
    assert all(r["meta"]["no_gesture_in_label_set"] is False for r in records)
    assert len(TASK.label_names(TASK.options({"keep_no_gesture": False}))) == 33


def test_hand_heart2_annotation_file_with_hands_heart2_image_folder(tmp_path):
    root = write_release(
        tmp_path / "hagrid",
        {("val", "hand_heart2"): {"h1": hand_record(["hand_heart2", "hand_heart2"], united_label=["hand_heart2"])}},
        [("hands_heart2", "h1")],
    )
    records, report = run_convert(root, tmp_path, split="val")
    assert [r["image"] for r in records] == ["hagrid_dataset/hands_heart2/h1.jpg"]
    assert report.skipped == 0


def test_check_images_false_converts_without_image_files(tmp_path):
    root = write_release(tmp_path / "hagrid", {("test", "fist"): {"f1": hand_record(["fist"])}}, [])
    (root / "hagrid_dataset").rmdir()
    records, report = run_convert(root, tmp_path, split="test", check_images="false")
    assert [r["image"] for r in records] == ["hagrid_dataset/fist/f1.jpg"]
    with pytest.raises(FileNotFoundError, match="hagrid_dataset"):
        run_convert(root, tmp_path, split="test")


def test_label_names_follow_reference_order():
    names = TASK.label_names(TASK.options())
    assert len(names) == 34 and names[0] == "grabbing" and names[16] == "like" and names[-1] == "no_gesture"


def test_missing_annotation_folder(tmp_path):
    root = standard_release(tmp_path / "hagrid")
    with pytest.raises(FileNotFoundError, match="hagrid_annotations/val"):
        run_convert(root, tmp_path, split="val")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_unreadable_class_file_names_the_file(tmp_path, content):
    root = write_release(tmp_path / "hagrid", {("test", "ok"): {}}, [])
    (root / "hagrid_annotations" / "test" / "ok.json").write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="ok.json"):
        run_convert(root, tmp_path, split="test")


@pytest.mark.parametrize(
    "landmarks",
    [
        [[[0.5, 0.25]] * 21, []],
        [[[1e-3, -2.5e+1]] * 21, None],  # a hand without landmarks as null: the fast path falls back
        [[[0.5, 0.25], "x"]],
    ],
)
def test_class_file_loading_drops_only_landmarks(tmp_path, landmarks):
    from socialfusion_plugin.tasks.gesture.reader import load_class_file

    record = hand_record(["like", "no_gesture"])
    record["hand_landmarks"] = landmarks
    path = tmp_path / "like.json"
    path.write_text(json.dumps({"a": record, "b": hand_record(["fist"])}, indent=2), encoding="utf-8")
    loaded = load_class_file(path)
    expected = json.loads(path.read_text(encoding="utf-8"))
    for value in (loaded, expected):
        for entry in value.values():
            entry.pop("hand_landmarks")
    assert loaded == expected and list(loaded) == ["a", "b"]

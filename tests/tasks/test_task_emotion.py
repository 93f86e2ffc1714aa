"""EMOTIC conversion: official .mat and Tandon-A/emotic CSV, quirks, errors, golden records
(the CLI round trip: test_every_task.py)."""
from __future__ import annotations

import json

import pytest

from socialfusion_plugin.demo.releases.emotic import (
    COCO,
    build_csv_release,
    build_mat_release,
    csv_row,
    image_entry,
    make_image,
    standard_splits,
    train_person,
    write_csv,
    write_mat,
)
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert

TASK = TASKS.get("emotion")


def _convert(root, split, tmp_path, **options):
    out = tmp_path / f"{split}.json"
    report = convert(TASK, root, split, out, options=options, progress=False)
    return json.loads(out.read_text()), report


def _skips(report):
    return {entry["ref"]: entry["reason"] for entry in report.skipped_records}


def test_mat_train_records_match_golden(tmp_path, golden):
    records, report = _convert(build_mat_release(tmp_path / "emotic"), "train", tmp_path)
    assert [r["conversations"][1]["value"] for r in records] == [
        "Engagement, Happiness",  # written Happiness, Engagement: answers use the canonical order
        "Peace",  # a one-category cell loads as a bare string
        "Disquietment, Fear",
    ]
    # 640x480 image, box [64, 48, 320, 480] px -> [0.10, 0.10, 0.50, 1.00]
    assert records[0]["meta"]["box"] == [0.1, 0.1, 0.5, 1.0]
    # [600, 0, 700, 240] past the right border: 600/640 = 0.9375, 700/640 clamps to 1
    assert records[1]["meta"]["box"] == [0.9375, 0.0, 1.0, 0.5]
    assert records[1]["meta"]["vad"] is None  # NaN valence: categories kept, ratings dropped
    # corners [150, 90, 50, 10] in a 200x100 image -> swapped -> [0.25, 0.10, 0.75, 0.90]
    assert records[2]["meta"]["box"] == [0.25, 0.1, 0.75, 0.9]
    assert records[0]["meta"]["vad"] == {"valence": 6.0, "arousal": 4.0, "dominance": 7.0}
    golden("emotion_train", records)
    assert (report.read, report.converted, report.skipped) == (7, 3, 4)
    assert report.converted + report.skipped == report.read
    assert _skips(report) == {
        "Annotations.mat:train[2].person[0]": "image not found",
        "Annotations.mat:train[3].person[0]": "unknown emotion category",
        "Annotations.mat:train[4].person[0]": "invalid body box",
        "Annotations.mat:train[5].person[0]": "no emotion categories",
    }
    unknown = [e for e in report.skipped_records if e["reason"] == "unknown emotion category"]
    assert unknown[0]["detail"] == "'Boredom'"


def test_mat_test_split_uses_combined_categories(tmp_path, golden):
    records, report = _convert(build_mat_release(tmp_path / "emotic"), "test", tmp_path, include_vad="true")
    assert [r["id"] for r in records] == ["emotion/test/00000-COCO_test_001-p0", "emotion/test/00002-COCO_test_003-p0"]
    first, second = (r["meta"] for r in records)
    assert first["categories"] == ["Engagement", "Happiness", "Pleasure"]  # the combined set, not annotator 1's
    assert first["n_annotators"] == 3
    assert records[0]["conversations"][1]["value"] == (
        "Engagement, Happiness, Pleasure; valence 5.5, arousal 4.25, dominance 6"
    )
    assert second["vad"] is None
    assert records[1]["conversations"][1]["value"] == "Doubt/Confusion, Sadness"  # no complete ratings
    assert records[0]["conversations"][0]["value"] == (
        "<image>\nWhich emotion categories describe the person in the box [0.10, 0.10, 0.50, 1.00]? "
        "Answer with EMOTIC categories separated by commas."
    )
    golden("emotion_test", records)
    assert _skips(report) == {
        "Annotations.mat:test[0].person[1]": "no emotion categories",
        "Annotations.mat:test[1].person[0]": "no annotators",
    }
    assert (report.read, report.converted, report.skipped) == (4, 2, 2)


def test_val_split_and_one_annotator_squeezed(tmp_path):
    records, report = _convert(build_mat_release(tmp_path / "emotic"), "val", tmp_path)
    assert [r["meta"]["categories"] for r in records] == [["Anticipation"]]
    assert records[0]["meta"]["n_annotators"] == 1
    assert report.read == 1


def test_cvpr17_file_accepted_and_annotations_mat_preferred(tmp_path):
    root = build_mat_release(tmp_path / "a", mat_name="CVPR17_Annotations.mat")
    records, _ = _convert(root, "val", tmp_path)
    assert records[0]["meta"]["categories"] == ["Anticipation"]
    # both present: Annotations.mat (here with a different label) wins
    entry = image_entry("COCO_val_001.jpg", COCO, 100, 100, [train_person([10, 10, 90, 90], ["Yearning"])])
    write_mat(root / "Annotations" / "Annotations.mat", {"train": [entry], "val": [entry], "test": [entry]})
    records, _ = _convert(root, "val", tmp_path)
    assert records[0]["meta"]["categories"] == ["Yearning"]


def test_malformed_mat_records_are_skipped(tmp_path):
    root = tmp_path / "emotic"
    make_image(root, f"{COCO}/a.jpg")
    no_box = train_person([0, 0, 4, 4], ["Pain"])
    del no_box["body_bbox"]
    no_rows = image_entry("a.jpg", COCO, 6, 8, [train_person([0, 0, 4, 4], ["Pain"])])
    no_rows["image_size"] = {"n_col": 8.0}
    zero_size = image_entry("a.jpg", COCO, 0, 8, [train_person([0, 0, 4, 4], ["Pain"])])
    entries = [image_entry("a.jpg", COCO, 6, 8, [no_box, no_box]), no_rows, zero_size]
    write_mat(root / "Annotations" / "Annotations.mat", {"train": entries, "val": entries, "test": entries})
    records, report = _convert(root, "train", tmp_path)
    assert records == []
    assert [e["reason"] for e in report.skipped_records] == [
        "malformed record", "malformed record", "malformed record", "invalid image size"]
    assert "body_bbox" in report.skipped_records[0]["detail"]
    assert "n_row" in report.skipped_records[2]["detail"]


def test_struct_accessors_read_both_loadmat_layouts(tmp_path):
    from scipy.io import loadmat

    from socialfusion_plugin.tasks.emotion.matreader import as_float, as_string, elements, field, strings

    path = build_mat_release(tmp_path / "emotic") / "Annotations" / "Annotations.mat"
    for flags in ({}, {"squeeze_me": True, "struct_as_record": False}):
        entries = elements(loadmat(str(path), **flags)["test"])
        persons = elements(field(entries[0], "person"))
        assert as_string(field(entries[0], "filename")) == "COCO_test_001.jpg"
        assert as_float(field(field(entries[0], "image_size"), "n_row")) == 200.0
        assert strings(field(persons[0], "combined_categories")) == ["Pleasure", "Engagement", "Happiness"]
        assert [len(elements(field(p, "annotations_categories"))) for p in persons] == [3, 1]
        assert strings(field(persons[1], "combined_categories")) == []


def test_missing_annotations(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Annotations.mat.*train.csv"):
        list(TASK.read(tmp_path / "empty", "train", TASK.options()))
    with pytest.raises(FileNotFoundError, match="CVPR17_Annotations.mat"):
        list(TASK.read(tmp_path / "empty", "train", TASK.options({"source": "mat"})))


def test_unreadable_mat_file_and_missing_split(tmp_path):
    root = tmp_path / "emotic"
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations" / "Annotations.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(ValueError, match="Annotations.mat"):
        list(TASK.read(root, "train", TASK.options()))
    splits = standard_splits()
    write_mat(root / "Annotations" / "Annotations.mat", {"train": splits["train"]})
    with pytest.raises(ValueError, match="no variable 'val'"):
        list(TASK.read(root, "val", TASK.options()))


def test_csv_conversion(tmp_path):
    root = build_csv_release(tmp_path / "data_dir")
    records, report = _convert(root, "test", tmp_path)
    assert [r["image"] for r in records] == ["emotic/mscoco/images/COCO_test_001.jpg",
                                              "emotic/emodb_small/images/emo_002.jpg"]
    assert [r["id"] for r in records] == ["emotion/test/row00000-COCO_test_001", "emotion/test/row00001-emo_002"]
    first, second = (r["meta"] for r in records)
    # Image Size is [n_row, n_col] = [200, 400]: x by 400, y by 200
    assert first["box"] == [0.1, 0.1, 0.5, 1.0]
    assert first["vad"] == {"valence": 5.5, "arousal": 4.25, "dominance": 6.0}
    assert first["source"] == "csv" and first["n_annotators"] is None
    assert second["vad"] is None  # "[2, nan, 3]" as Python writes it
    assert second["gender"] == "Female"
    assert _skips(report) == {
        "test.csv:4": "malformed record",
        "test.csv:5": "image not found",
        "test.csv:6": "no emotion categories",
    }
    assert report.converted + report.skipped == report.read == 5


def test_csv_dir_option_and_explicit_source(tmp_path):
    root = tmp_path / "data"
    make_image(root, f"{COCO}/x.jpg")
    write_csv(root / "my_csvs" / "train.csv", [csv_row(7, COCO, "x.jpg", [6, 8], [0, 0, 8, 6], ["Esteem"], [1, 2, 3])])
    with pytest.raises(FileNotFoundError):
        list(TASK.read(root, "train", TASK.options()))
    records, _ = _convert(root, "train", tmp_path, csv_dir="my_csvs", image_dir="")
    assert records[0]["meta"]["categories"] == ["Esteem"]
    assert records[0]["meta"]["box"] == [0.0, 0.0, 1.0, 1.0]
    # source=csv ignores a .mat that is present
    build_mat_release(root)
    records, _ = _convert(root, "train", tmp_path, source="csv", csv_dir="my_csvs")
    assert [r["meta"]["source"] for r in records] == ["csv"]


def test_csv_missing_column_is_an_error(tmp_path):
    root = tmp_path / "data"
    write_csv(root / "emotic_pre" / "val.csv", [["0", COCO, "x.jpg"]], header=["Index", "Folder", "Filename"])
    with pytest.raises(ValueError, match=r"val.csv:1: missing column\(s\) Image Size"):
        list(TASK.read(root, "val", TASK.options()))

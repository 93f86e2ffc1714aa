"""relation (PISC): conversion from the release format, skips, errors, golden records."""
from __future__ import annotations

import json

import pytest

from socialfusion_plugin.demo.releases.pisc import standard_release, write_json
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert

TASK = TASKS.get("relation")


def run_convert(root, tmp_path, split="train", **options):
    out = tmp_path / "out" / f"relation_{split}.json"
    report = convert(TASK, root, split, out, options=options, progress=False)
    return json.loads(out.read_text(encoding="utf-8")), report


def test_fine_train_split(tmp_path):
    records, report = run_convert(standard_release(tmp_path / "pisc"), tmp_path)
    summary = {r["id"]: (r["image"], r["conversations"][1]["value"]) for r in records}
    assert summary == {
        "relation/train/1_1_2": ("image/00001.jpg", "friends"),
        "relation/train/1_2_3": ("image/00001.jpg", "no relation"),
        "relation/train/2_1_2": ("image/00002.jpg", "couple"),  # key "2", split "00002"
        "relation/train/3_2_1": ("image/3.jpg", "professional"),  # bare-id file; label "4" as a string
    }
    first = records[0]
    # image 1 is 100 x 50: [10, 5, 40, 45] -> [0.1, 0.1, 0.4, 0.9]; [50, 0, 100, 50] -> [0.5, 0, 1, 1]
    assert first["meta"]["boxes"] == [[0.1, 0.1, 0.4, 0.9], [0.5, 0.0, 1.0, 1.0]]
    assert "[0.10, 0.10, 0.40, 0.90]" in first["conversations"][0]["value"]
    assert "[0.50, 0.00, 1.00, 1.00]" in first["conversations"][0]["value"]
    assert first["meta"]["pair"] == [1, 2] and first["meta"]["granularity"] == "fine"
    assert report.read == 12 and report.converted == 4 and report.skipped == 8
    assert report.converted + report.skipped == report.read
    assert dict(report.skip_reasons) == {
        "pair index out of range": 1,
        "malformed pair": 1,
        "unknown label": 1,
        "image not found": 1,
        "image info missing": 1,
        "malformed image info": 1,
        "malformed box": 1,
        "duplicate image in split": 1,
    }
    refs = {s["reason"]: s["ref"] for s in report.skipped_records}
    assert refs["pair index out of range"] == "relationship.json:1:1 4"
    assert refs["unknown label"] == "relationship.json:1:3 1"


def test_golden_train_records(tmp_path, golden):
    records, _ = run_convert(standard_release(tmp_path / "pisc"), tmp_path)
    golden("relation_train", records)


def test_coarse_uses_domain_files_and_labels(tmp_path):
    records, report = run_convert(standard_release(tmp_path / "pisc"), tmp_path, granularity="coarse")
    assert [(r["id"], r["meta"]["label"]) for r in records] == [
        ("relation/train/1_1_2", "intimate"),
        ("relation/train/1_2_3", "no relation"),
        ("relation/train/1_1_3", "non-intimate"),
        ("relation/train/2_1_2", "non-intimate"),
    ]
    assert all(r["meta"]["granularity"] == "coarse" for r in records)
    # The prompt lists the label set of the converted granularity.
    assert all("intimate, non-intimate, no relation" in r["conversations"][0]["value"] for r in records)
    assert report.skipped == 0
    assert TASK.label_names(TASK.options({"granularity": "coarse"})) == ["intimate", "non-intimate", "no relation"]


def test_unknown_granularity_is_rejected():
    with pytest.raises(ValueError, match="granularity"):
        TASK.options({"granularity": "medium"})


def test_missing_files(tmp_path):
    root = standard_release(tmp_path / "pisc")
    (root / "annotation_image_info.json").unlink()
    with pytest.raises(FileNotFoundError, match="annotation_image_info.json"):
        run_convert(root, tmp_path)
    (root / "domain_split" / "domain_testidx.json").unlink()
    with pytest.raises(FileNotFoundError, match="domain_testidx.json"):
        run_convert(root, tmp_path, split="test", granularity="coarse")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("relationship.json", "[]", "relationship.json"),
        ("relationship.json", "{broken", "relationship.json"),
        ("annotation_image_info.json", '[{"imgW": 1}]', "entry 0 has no 'id'"),
        ("relationship_split/relation_trainidx.json", '[{"id": 1}]', "entry 0 is not an image id"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, name, content, message):
    root = standard_release(tmp_path / "pisc")
    (root / name).write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        run_convert(root, tmp_path)


def test_split_images_without_pairs_are_not_records(tmp_path):
    root = standard_release(tmp_path / "pisc")
    write_json(root / "relationship_split" / "relation_validx.json", ["00005", "00002"])
    records, report = run_convert(root, tmp_path, split="val")
    assert [r["id"] for r in records] == ["relation/val/2_1_2"] and report.read == 1


def test_image_entry_that_is_not_an_object_is_one_skip(tmp_path):
    root = standard_release(tmp_path / "pisc")
    write_json(root / "relationship.json", {"00002": ["1 2", 3]})
    records, report = run_convert(root, tmp_path, split="val")
    assert records == [] and report.read == 1
    assert report.skipped_records == [
        {"ref": "relationship.json:2", "reason": "malformed pairs", "detail": "expected an object of pairs"}
    ]

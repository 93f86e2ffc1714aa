"""`convert` on damaged releases: every bad box, non-finite value and repeated id is a counted skip
with a reason (converted + skipped == read, and the output is strict JSON), and every unreadable
file is a one-line error naming the file and the line (exit 2), never a traceback."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.releases import emotic, gazefollow, hagrid, pisc, video_attention_target as vat
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.base import Sample, Task
from socialfusion_plugin.tasks.conversion import convert


def _no_constants(name):
    raise AssertionError(f"the output holds {name}, which is not JSON")


def run(task_name, root, split, tmp_path, **options):
    out = tmp_path / "out.json"
    report = convert(TASKS.get(task_name), root, split, out, options=options, progress=False)
    records = json.loads(out.read_text(encoding="utf-8"), parse_constant=_no_constants)
    assert report.converted + report.skipped == report.read
    assert len(records) == report.converted
    return records, report


def skips(report):
    return {entry["ref"].rsplit(":", 1)[-1]: (entry["reason"], entry.get("detail", ""))
            for entry in report.skipped_records}


# ---- boxes: one geometry for every task -------------------------------------------------------

def _gesture(tmp_path, boxes):
    records = {"good": hagrid.hand_record(["like"])}
    records.update({name: hagrid.hand_record(["like"], bboxes=[box]) for name, box in boxes.items()})
    root = hagrid.write_release(tmp_path / "hagrid", {("train", "like"): records},
                                [("like", name) for name in records])
    return run("gesture", root, "train", tmp_path)


def _relation(tmp_path, boxes):
    info = [{"id": i + 1, "imgW": 100, "imgH": 50, "bbox": [[10, 5, 40, 45], box]}
            for i, box in enumerate(boxes.values())]
    ids = [f"{i + 1:05d}" for i in range(len(boxes))]
    root = pisc.write_release(tmp_path / "pisc", info, {image_id: {"1 2": 1} for image_id in ids}, {},
                              {"train": ids}, {}, [f"{image_id}.jpg" for image_id in ids])
    records, report = run("relation", root, "train", tmp_path)
    names = dict(zip((str(i + 1) for i in range(len(boxes))), boxes))  # refs use the id by value
    return records, {names[entry["ref"].split(":")[1]]: (entry["reason"], entry.get("detail", ""))
                     for entry in report.skipped_records}


BAD_XYWH = {
    "zero": ([0, 0, 0, 0], "zero-area box"),
    "outside": ([1, 1, 1, 1], "box outside the image"),
    "inverted": ([0.5, 0.5, -0.2, -0.2], "inverted box"),
    "infinite": ([0.1, 0.1, math.inf, 0.2], "non-finite coordinate"),  # json.dumps writes Infinity
    "nan": ([0.1, math.nan, 0.2, 0.2], "non-finite coordinate"),
    "huge": ([0.1, 0.1, 10 ** 400, 0.2], "non-finite coordinate"),
}


def test_gesture_boxes_without_area_inside_the_image_are_skipped(tmp_path):
    records, report = _gesture(tmp_path, {name: box for name, (box, _) in BAD_XYWH.items()})
    assert [r["id"] for r in records] == ["gesture/train/like/good"]
    assert report.skip_reasons == {"invalid hand box": len(BAD_XYWH)}
    found = skips(report)
    for name, (_, kind) in BAD_XYWH.items():
        assert found[name][1].startswith(f"hand 1: {kind}"), found[name]


BAD_PIXEL_BOXES = {
    "zero": ([20, 5, 20, 45], "zero-area box"),
    "outside": ([200, 0, 300, 50], "box outside the image"),
    "infinite": ([10, 5, math.inf, 45], "non-finite coordinate"),
    "huge": ([10, 5, 10 ** 400, 45], "non-finite coordinate"),
}


def test_relation_boxes_without_area_or_with_swapped_corners_are_skipped(tmp_path):
    boxes = {name: box for name, (box, _) in BAD_PIXEL_BOXES.items()}
    boxes["good"] = [10, 5, 40, 45]
    boxes["swapped"] = [40, 45, 10, 5]  # refused like every other format's inverted box, never swapped
    records, found = _relation(tmp_path, boxes)
    assert len(records) == 1 and records[0]["meta"]["boxes"][1] == [0.1, 0.1, 0.4, 0.9]
    assert "[1.00, 1.00, 1.00, 1.00]" not in json.dumps(records)
    expected = {**{name: kind for name, (_, kind) in BAD_PIXEL_BOXES.items()}, "swapped": "inverted box"}
    assert {name: reason for name, (reason, _) in found.items()} == {name: "invalid box" for name in expected}
    for name, kind in expected.items():
        assert found[name][1].startswith(f"box 2: {kind}")


def test_gaze_rows_with_degenerate_boxes_or_non_finite_numbers_are_skipped(tmp_path):
    image = "train/00000000/00000001.jpg"
    rows = [
        gazefollow.train_row(image, 1, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), 1),  # good
        gazefollow.train_row(image, 2, (0.25, 0.3), (0.6, 0.7), (5.0, 1.0, 5.0, 5.0), 1),  # zero width
        gazefollow.train_row(image, 3, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), "inf"),
        gazefollow.train_row(image, 4, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), "1e999"),
        gazefollow.train_row(image, 5, ("nan", 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), 1),
        gazefollow.train_row(image, 6, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, "9" * 5000, 5.0), 1),
    ]
    root = gazefollow.build_release(tmp_path / "gaze", train_rows=rows)
    records, report = run("gaze", root, "train", tmp_path)
    assert len(records) == 1
    found = {line: reason for line, (reason, _) in skips(report).items()}
    # line 3 of the file is the blank line build_release inserts
    assert found == {"2": "invalid head box", "4": "malformed row", "5": "malformed row", "6": "malformed row",
                     "7": "malformed row"}
    assert skips(report)["2"][1].startswith("zero-area box")


def test_gaze_video_zero_area_head_box_and_infinite_gaze_are_skipped(tmp_path):
    lines = [vat.line(1, (4, 2, 12, 8), (16, 8)), vat.line(2, (4, 2, 4, 8), (16, 8)),
             vat.line(3, (4, 2, 12, 8), ("inf", 8))]
    root = vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines})
    records, report = run("gaze_video", root, "train", tmp_path)
    assert len(records) == 1
    assert {line: reason for line, (reason, _) in skips(report).items()} == {"2": "invalid head box",
                                                                             "3": "malformed line"}


def test_emotion_csv_non_finite_boxes_and_ratings_are_skipped(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(root, f"emotic/{emotic.COCO}/a.jpg")
    row = emotic.csv_row  # (index, folder, filename, size, bbox, categories, vad)
    rows = [
        row(0, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5]),
        row(1, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5]),
        row(2, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5]),
        row(3, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5]),
        row(4, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5]),
        row(5, emotic.COCO, "a.jpg", [200, 400], [40, 20, 40, 200], ["Happiness"], [5, 5, 5]),
    ]
    rows[1][4] = "[40, 20, 1e999, 200]"  # a literal that evaluates to infinity
    rows[2][6] = "[1e999, 5, 5]"  # VAD: would be written as Infinity
    rows[3][4] = "[40, 20, " + "9" * 400 + ", 200]"  # an integer too large for a float
    rows[4][0] = "1" * 5000  # past int()'s digit limit
    emotic.write_csv(root / "emotic_pre" / "test.csv", rows)
    records, report = run("emotion", root, "test", tmp_path)
    assert len(records) == 1 and records[0]["meta"]["vad"] == {"valence": 5.0, "arousal": 5.0, "dominance": 5.0}
    found = skips(report)
    assert {line: reason for line, (reason, _) in found.items()} == {
        "3": "invalid body box", "4": "non-finite rating", "5": "invalid body box", "6": "malformed record",
        "7": "invalid body box"}
    assert found["3"][1].startswith("non-finite coordinate") and found["4"][1] == "valence inf"
    assert found["7"][1].startswith("zero-area box")


def test_emotion_mat_infinite_box_and_rating_are_skipped(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(root, f"{emotic.COCO}/a.jpg")
    persons = [emotic.train_person([0, 0, 100, 100], ["Pain"]),
               emotic.train_person([0, 0, np.inf, 100], ["Pain"]),
               emotic.train_person([0, 0, 100, 100], ["Pain"], vad=(5, np.inf, 5))]
    entries = [emotic.image_entry("a.jpg", emotic.COCO, 480, 640, persons)]
    emotic.write_mat(root / "Annotations" / "Annotations.mat", {"train": entries, "val": entries, "test": entries})
    records, report = run("emotion", root, "train", tmp_path)
    assert len(records) == 1
    assert [(e["reason"], e["detail"]) for e in report.skipped_records] == [
        ("invalid body box", "non-finite coordinate: 0, 0, inf, 100 (image 640x480)"),
        ("non-finite rating", "arousal inf")]


# ---- repeated ids ------------------------------------------------------------------------------

def test_a_repeated_id_in_a_hagrid_class_file_is_counted(tmp_path):
    root = hagrid.write_release(tmp_path / "hagrid", {("train", "like"): {"a": hagrid.hand_record(["like"])}},
                                [("like", "a"), ("like", "b")])
    first, second = json.dumps(hagrid.hand_record(["like"])), json.dumps(hagrid.hand_record(["fist"]))
    (root / "hagrid_annotations" / "train" / "like.json").write_text(
        f'{{"a": {first},\n"b": {first},\n"a": {second}}}', encoding="utf-8")
    records, report = run("gesture", root, "train", tmp_path)
    assert [(r["id"], r["meta"]["label"]) for r in records] == [("gesture/train/like/a", "like"),
                                                                ("gesture/train/like/b", "like")]
    assert report.read == 3 and report.skip_reasons == {"duplicate image id": 1}
    assert report.skipped_records[0]["detail"] == "line 3; first listed at line 1"


def test_a_sample_id_met_twice_is_a_counted_skip(tmp_path):
    # "two up inverted.json" (HaGRID v1 spelling) and "two_up_inverted.json" name the same class
    annotations = {("train", "two_up_inverted"): {"x": hagrid.hand_record(["two_up_inverted"])},
                   ("train", "two up inverted"): {"x": hagrid.hand_record(["two_up_inverted"])}}
    root = hagrid.write_release(tmp_path / "hagrid", annotations, [("two_up_inverted", "x")])
    records, report = run("gesture", root, "train", tmp_path)
    assert len(records) == 1 and report.read == 2
    assert report.skipped_records == [{"ref": "hagrid_annotations/train/two_up_inverted.json:x",
                                       "reason": "duplicate sample id", "detail": "two_up_inverted/x"}]


# ---- a value JSON cannot hold never reaches the output --------------------------------------------

class _ProbeTask(Task):
    """A plugin task whose reader lets a NaN and a non-UTF-8 file name through."""

    name = "probe_values"
    splits = ("train",)

    @property
    def prompts_file(self) -> Path:
        return Path(TASKS.get("gaze").prompts_file)

    def read(self, root, split, options):
        box = {"box": "[0.10, 0.10, 0.50, 0.50]"}
        yield Sample("ok", "a.jpg", box, {"value": 1.0}, ref="values.csv:1")
        yield Sample("nan", "a.jpg", box, {"value": [1.0, math.nan]}, ref="values.csv:2")
        yield Sample("name", "caf\udce9.jpg", box, {"value": 1.0}, ref="values.csv:3")  # os.fsdecode(b"caf\xe9")

    def format_answer(self, target, options):
        return "(0.50, 0.50)"

    def parse_answer(self, text, options):
        return None

    def score(self, references, predictions, class_scores, options):
        return {}


def test_non_finite_values_and_undecodable_names_become_skips(tmp_path):
    out = tmp_path / "out.json"
    report = convert(_ProbeTask(), tmp_path, "train", out, progress=False)
    records = json.loads(out.read_text(encoding="utf-8"), parse_constant=_no_constants)
    assert [r["id"] for r in records] == ["probe_values/train/ok"]
    assert (report.read, report.converted) == (3, 1)
    assert [(e["ref"], e["reason"]) for e in report.skipped_records] == [
        ("values.csv:2", "non-finite value"), ("values.csv:3", "name not UTF-8")]
    assert report.skipped_records[0]["detail"] == "record.meta.value[1] = nan"


# ---- images that cannot be opened ------------------------------------------------------------

@pytest.mark.parametrize("damage, detail", [
    ("empty", "not an image PIL can identify"),
    ("corrupt", "not an image PIL can identify"),
    ("bomb", "decompression bomb"),
    ("folder", "image not found"),
])
def test_unreadable_images_are_skipped(tmp_path, monkeypatch, damage, detail):
    image = "train/00000000/00000002.jpg"
    rows = [gazefollow.train_row("train/00000000/00000001.jpg", 1, (0.2, 0.3), (0.6, 0.7), (2, 1, 6, 5), 1),
            gazefollow.train_row(image, 2, (0.2, 0.3), (0.6, 0.7), (2, 1, 6, 5), 1)]
    root = gazefollow.build_release(tmp_path / "gaze", train_rows=rows)
    path = root / image
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "corrupt":
        path.write_bytes(b"\xff\xd8\xff not a jpeg")
    elif damage == "bomb":
        # a header claiming more than twice PIL's pixel limit: DecompressionBombError, not an OSError
        Image.new("RGB", (400, 400)).save(path, format="JPEG")
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60_000)
    else:
        path.unlink()
        path.mkdir()
    records, report = run("gaze", root, "train", tmp_path)
    assert len(records) == 1
    (entry,) = report.skipped_records
    if damage == "folder":
        assert entry["reason"] == "image not found"
    else:
        assert entry["reason"] == "unreadable image" and detail in entry["detail"]


def _cut_jpeg(path, size=(64, 48)):
    """A photo-like JPEG that loses its second half (a copy cut short): its header still reads."""
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _readable_everywhere(root, records):
    """The oracle `validate` uses (a full decode): every converted record's image opens."""
    from socialfusion_plugin.data.validate import check_image

    return [r["image"] for r in records if check_image(str(Path(root) / r["image"])) != ("", "")]


def test_every_frame_of_a_clip_is_checked_and_measured_on_its_own(tmp_path, monkeypatch):
    lines = [vat.line(n, (4, 2, 12, 8), (16, 8)) for n in range(1, 7)]
    root = vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines})
    frames = root / "images" / vat.SHOW / vat.CLIP
    (frames / vat.frame_name(2)).write_bytes(b"")  # 0 bytes, after a readable first frame
    Image.new("RGB", (400, 400)).save(frames / vat.frame_name(3), format="JPEG")  # the "bomb" (limit below)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60_000)
    _cut_jpeg(frames / vat.frame_name(4))
    Image.new("RGB", (64, 32)).save(frames / vat.frame_name(5), format="JPEG")  # another size than the clip's
    records, report = run("gaze_video", root, "train", tmp_path)
    found = skips(report)
    assert {line: reason for line, (reason, _) in found.items()} == {
        "2": "unreadable image", "3": "unreadable image", "4": "unreadable image"}
    assert "not an image PIL can identify" in found["2"][1] and "decompression bomb" in found["3"][1]
    assert "truncated" in found["4"][1]
    sizes = {r["meta"]["frame"]: r["meta"]["image_size"] for r in records}
    assert sizes == {vat.frame_name(1): [32, 16], vat.frame_name(5): [64, 32], vat.frame_name(6): [32, 16]}
    # the frame's own size normalizes its box: (4,2)-(12,8) in 64x32
    assert next(r for r in records if r["meta"]["frame"] == vat.frame_name(5))["meta"]["head_box"] == [
        0.0625, 0.0625, 0.1875, 0.25]
    assert _readable_everywhere(root, records) == []


def _empty_image_gesture(tmp_path):
    records = {"good": hagrid.hand_record(["like"]), "bad": hagrid.hand_record(["like"])}
    root = hagrid.write_release(tmp_path / "hagrid", {("train", "like"): records}, [("like", "good"), ("like", "bad")])
    return "gesture", root, root / "hagrid_dataset" / "like" / "bad.jpg"


def _empty_image_relation(tmp_path):
    info = [{"id": i, "imgW": 100, "imgH": 50, "bbox": [[10, 5, 40, 45], [50, 0, 90, 50]]} for i in (1, 2)]
    root = pisc.write_release(tmp_path / "pisc", info, {"00001": {"1 2": 1}, "00002": {"1 2": 1}}, {},
                              {"train": ["00001", "00002"]}, {}, ["00001.jpg", "00002.jpg"])
    return "relation", root, root / "image" / "00002.jpg"


def _empty_image_emotion(tmp_path):
    root = tmp_path / "emotic"
    for name in ("a.jpg", "b.jpg"):
        emotic.make_image(root, f"emotic/{emotic.COCO}/{name}")
    rows = [emotic.csv_row(i, emotic.COCO, name, [200, 400], [40, 20, 200, 200], ["Happiness"], [5, 5, 5])
            for i, name in enumerate(("a.jpg", "b.jpg"))]
    emotic.write_csv(root / "emotic_pre" / "train.csv", rows)
    return "emotion", root, root / "emotic" / emotic.COCO / "b.jpg"


@pytest.mark.parametrize("make", [_empty_image_gesture, _empty_image_relation, _empty_image_emotion])
@pytest.mark.parametrize("damage", ["empty", "cut"])
def test_every_task_checks_that_its_images_open(tmp_path, make, damage):
    task, root, image = make(tmp_path)
    if damage == "empty":
        image.write_bytes(b"")
    else:
        _cut_jpeg(image)
    records, report = run(task, root, "train", tmp_path)
    assert len(records) == 1 and report.skip_reasons == {"unreadable image": 1}
    assert report.skipped_records[0]["detail"].startswith(image.relative_to(root).as_posix() + ": ")
    assert _readable_everywhere(root, records) == []


# ---- one rule for numbers in all five formats: out of range or malformed is a counted skip -------

INVERTED_OR_OUT_OF_RANGE = [("inverted", "inverted box"), ("huge", "coordinate out of range")]


def _boxes_gesture(tmp_path, bad):
    box = {"inverted": [0.5, 0.5, -0.2, 0.3], "huge": [0.1, 0.1, 1e308, 0.2]}[bad]  # [x, y, w, h]
    records, report = _gesture(tmp_path, {"bad": box})
    return records, report, "invalid hand box"


def _boxes_relation(tmp_path, bad):
    box = {"inverted": [40, 45, 10, 5], "huge": [-1e308, -1e308, 1e308, 1e308]}[bad]
    info = [{"id": i, "imgW": 100, "imgH": 50, "bbox": [[10, 5, 40, 45], b]} for i, b in ((1, [50, 0, 90, 50]), (2, box))]
    root = pisc.write_release(tmp_path / "pisc", info, {"00001": {"1 2": 1}, "00002": {"1 2": 1}}, {},
                              {"train": ["00001", "00002"]}, {}, ["00001.jpg", "00002.jpg"])
    records, report = run("relation", root, "train", tmp_path)
    return records, report, "invalid box"


def _boxes_gaze(tmp_path, bad):
    box = {"inverted": (12.0, 2.0, 8.0, 6.0), "huge": (-1e308, -1e308, 1e308, 1e308)}[bad]
    image = "train/00000000/00000001.jpg"
    rows = [gazefollow.train_row(image, 1, (0.25, 0.3), (0.6, 0.7), (2.0, 1.0, 6.0, 5.0), 1),
            gazefollow.train_row(image, 2, (0.25, 0.3), (0.6, 0.7), box, 1)]
    records, report = run("gaze", gazefollow.build_release(tmp_path / "gaze", train_rows=rows), "train", tmp_path)
    return records, report, "invalid head box"


def _boxes_gaze_video(tmp_path, bad):
    box = {"inverted": (12, 2, 4, 8), "huge": (-1e308, -1e308, 1e308, 1e308)}[bad]
    lines = [vat.line(1, (4, 2, 12, 8), (16, 8)), vat.line(2, box, (16, 8))]
    root = vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines})
    records, report = run("gaze_video", root, "train", tmp_path)
    return records, report, "invalid head box"


def _boxes_emotion_csv(tmp_path, bad):
    box = {"inverted": [200, 200, 40, 20], "huge": [-1e308, -1e308, 1e308, 1e308]}[bad]
    root = tmp_path / "emotic"
    emotic.make_image(root, f"emotic/{emotic.COCO}/a.jpg")
    rows = [emotic.csv_row(i, emotic.COCO, "a.jpg", [200, 400], b, ["Happiness"], [5, 5, 5])
            for i, b in enumerate(([40, 20, 200, 200], box))]
    emotic.write_csv(root / "emotic_pre" / "train.csv", rows)
    records, report = run("emotion", root, "train", tmp_path)
    return records, report, "invalid body box"


def _boxes_emotion_mat(tmp_path, bad):
    box = {"inverted": [200, 200, 40, 20], "huge": [-1e308, -1e308, 1e308, 1e308]}[bad]
    root = tmp_path / "emotic"
    emotic.make_image(root, f"{emotic.COCO}/a.jpg")
    persons = [emotic.train_person([40, 20, 200, 200], ["Pain"]), emotic.train_person(box, ["Pain"])]
    entries = [emotic.image_entry("a.jpg", emotic.COCO, 480, 640, persons)]
    emotic.write_mat(root / "Annotations" / "Annotations.mat", {"train": entries, "val": entries, "test": entries})
    records, report = run("emotion", root, "train", tmp_path)
    return records, report, "invalid body box"


@pytest.mark.parametrize("bad, kind", INVERTED_OR_OUT_OF_RANGE, ids=[b for b, _ in INVERTED_OR_OUT_OF_RANGE])
@pytest.mark.parametrize("make", [_boxes_gesture, _boxes_relation, _boxes_gaze, _boxes_gaze_video,
                                  _boxes_emotion_csv, _boxes_emotion_mat])
def test_inverted_and_far_outside_boxes_are_the_same_skip_in_every_format(tmp_path, make, bad, kind):
    records, report, reason = make(tmp_path, bad)
    assert len(records) == 1  # the good record beside it
    assert report.skip_reasons == {reason: 1}
    assert kind in report.skipped_records[0]["detail"]
    assert "[0.00, 0.00, 1.00, 1.00]" not in json.dumps(records)  # never "the whole image"


def test_gazefollow_numbers_are_read_as_written(tmp_path):
    image = "train/00000000/00000001.jpg"
    box = (2.0, 1.0, 6.0, 5.0)
    rows = [
        gazefollow.train_row(image, 1, (0.25, 0.3), (0.6, 0.7), box, 1),  # good
        gazefollow.train_row(image, 2, (0.25, 0.3), (-5, 99), box, 1),  # in frame, gaze far outside
        gazefollow.train_row(image, 3, (0.25, 0.3), (0.6, 0.7), box, "1.9"),  # not 1
        gazefollow.train_row(image, 4, (0.25, 0.3), (0.6, 0.7), box, "1_000"),  # float() reads 1000
        gazefollow.train_row(image, 5, (1e308, 0.3), (0.6, 0.7), box, 1),  # eye far outside
        gazefollow.train_row(image, 6, (0.25, 0.3), ("0_5", 0.7), box, 1),  # float() reads 5
        gazefollow.train_row(image, 7, (0.25, 0.3), (0.6, 0.7), box, "1.0"),  # 1, as some exports write it
    ]
    root = gazefollow.build_release(tmp_path / "gaze", train_rows=rows)
    records, report = run("gaze", root, "train", tmp_path)
    found = skips(report)  # file line = row + 1 from line 3 on (build_release's blank line)
    assert {line: reason for line, (reason, _) in found.items()} == {
        "2": "invalid gaze point", "4": "malformed row", "5": "malformed row", "6": "invalid eye point",
        "7": "malformed row"}
    assert found["2"][1] == "coordinate out of range: -5, 99"
    assert "'1.9' is not 1, 0 or -1" in found["4"][1] and "'1_000'" in found["5"][1]
    assert [r["id"].rsplit("line", 1)[1] for r in records] == ["1", "8"]


def test_gazefollow_test_annotator_points_are_checked_too(tmp_path):
    image = "test2/00000000/00000001.jpg"
    box = (2.0, 1.0, 6.0, 5.0)
    rows = [gazefollow.annotator_row(image, 1, (0.25, 0.3), (0.6, 0.25), box),
            gazefollow.annotator_row(image, 2, (0.25, 0.3), (3.5, 0.25), box),  # one annotator far outside
            gazefollow.annotator_row(image, 3, (0.5, 0.5), (0.6, 0.25), box),
            gazefollow.annotator_row(image, 4, (0.5, 0.5), (-1, -1), box)]  # the missing-annotation marker
    root = gazefollow.build_release(tmp_path / "gaze", test_rows=rows)
    records, report = run("gaze", root, "test", tmp_path)
    assert [(e["ref"], e["reason"], e["detail"]) for e in report.skipped_records] == [
        (f"{gazefollow.TEST_FILE}:1-2", "invalid gaze point", "coordinate out of range: 3.5, 0.25")]
    assert [r["meta"]["gaze_points"] for r in records] == [[[0.6, 0.25]]]


def test_gaze_video_gaze_far_outside_or_malformed_is_skipped(tmp_path):
    lines = [vat.line(1, (4, 2, 12, 8), (16, 8)), vat.line(2, (4, 2, 12, 8), (500, 8)),
             vat.line(3, (4, 2, 12, 8), ("1_6", 8)), vat.line(4, (4, 2, 12, 8), (-1, -1))]
    root = vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines})
    records, report = run("gaze_video", root, "train", tmp_path)
    found = skips(report)
    assert {line: reason for line, (reason, _) in found.items()} == {"2": "invalid gaze point", "3": "malformed line"}
    assert found["2"][1] == "coordinate out of range: 500, 8 (frame 32x16)"
    assert [r["meta"]["in_frame"] for r in records] == [True, False]


def test_emotion_ratings_must_be_three_and_on_the_scale(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(root, f"emotic/{emotic.COCO}/a.jpg")
    vads = ([5, 5, 5], [5, 5, 5, 5], [5, 11, 5], [5, 5], "[5, 1_0, 5]", "[]", "[nan, 5, 5]")
    rows = [emotic.csv_row(i, emotic.COCO, "a.jpg", [200, 400], [40, 20, 200, 200], ["Happiness"],
                           vad if isinstance(vad, list) else [0]) for i, vad in enumerate(vads)]
    for row, vad in zip(rows, vads):
        if isinstance(vad, str):
            row[6] = vad
    emotic.write_csv(root / "emotic_pre" / "test.csv", rows)
    records, report = run("emotion", root, "test", tmp_path)
    found = skips(report)
    assert {line: reason for line, (reason, _) in found.items()} == {
        "3": "malformed record", "4": "rating out of range", "5": "malformed record", "6": "malformed record"}
    assert "holds 4 values, expected 3 (valence, arousal, dominance)" in found["3"][1]
    assert found["4"][1] == "arousal 11.0 (the scale is 1-10)"
    assert "'1_0', not a decimal number" in found["6"][1]
    assert [r["meta"]["vad"] for r in records] == [
        {"valence": 5.0, "arousal": 5.0, "dominance": 5.0}, None, None]  # none given; one missing (NaN)


def test_emotion_mat_rating_off_the_scale_is_skipped(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(root, f"{emotic.COCO}/a.jpg")
    persons = [emotic.train_person([0, 0, 100, 100], ["Pain"]),
               emotic.train_person([0, 0, 100, 100], ["Pain"], vad=(0, 5, 5))]
    entries = [emotic.image_entry("a.jpg", emotic.COCO, 480, 640, persons)]
    emotic.write_mat(root / "Annotations" / "Annotations.mat", {"train": entries, "val": entries, "test": entries})
    records, report = run("emotion", root, "train", tmp_path)
    assert len(records) == 1
    assert [(e["reason"], e["detail"]) for e in report.skipped_records] == [
        ("rating out of range", "valence 0.0 (the scale is 1-10)")]


def test_pisc_sizes_and_labels_are_read_as_written(tmp_path):
    info = [{"id": i, "imgW": w, "imgH": 50, "bbox": [[10, 5, 40, 45], [50, 0, 90, 50]]}
            for i, w in ((1, 100), (2, 100.5), (3, 100), (4, 100.0))]
    ids = ["00001", "00002", "00003", "00004"]
    labels = {"00001": {"1 2": 1}, "00002": {"1 2": 1}, "00003": {"1 2": "\u00b3"}, "00004": {"1 2": "1"}}
    root = pisc.write_release(tmp_path / "pisc", info, labels, {}, {"train": ids}, {}, [f"{i}.jpg" for i in ids])
    records, report = run("relation", root, "train", tmp_path)
    assert [r["meta"]["image_id"] for r in records] == ["1", "4"]
    assert [(e["ref"].split(":")[1], e["reason"]) for e in report.skipped_records] == [
        ("2", "malformed image info"), ("3", "unknown label")]  # "³" is a digit to str.isdigit, not a label


def test_emotion_fractional_image_size_is_skipped(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(root, f"emotic/{emotic.COCO}/a.jpg")
    rows = [emotic.csv_row(i, emotic.COCO, "a.jpg", size, [40, 20, 200, 200], ["Happiness"], [5, 5, 5])
            for i, size in enumerate(([200, 400], [200.5, 400], [200.0, 400.0]))]
    emotic.write_csv(root / "emotic_pre" / "test.csv", rows)
    records, report = run("emotion", root, "test", tmp_path)
    assert [r["meta"]["image_size"] for r in records] == [[400, 200], [400, 200]]
    assert [(e["reason"], e["detail"]) for e in report.skipped_records] == [("invalid image size", "[200.5, 400.0]")]


# ---- unreadable files: one line naming the file and line, exit 2 ------------------------------

BIG_CELL = "x" * (200 * 1024)  # over csv's field size limit (131072)


def _hagrid(tmp_path, text=None, data=None, folder=False):
    root = hagrid.standard_release(tmp_path / "hagrid")
    path = root / "hagrid_annotations" / "train" / "like.json"
    if folder:
        path.unlink()
        path.mkdir()
    elif data is not None:
        path.write_bytes(data)
    else:
        path.write_text(text, encoding="utf-8")
    return "gesture", root, "train"


def _pisc(tmp_path, name, data=None, folder=False):
    root = pisc.standard_release(tmp_path / "pisc")
    if folder:
        (root / name).unlink()
        (root / name).mkdir()
    else:
        (root / name).write_bytes(data)
    return "relation", root, "train"


def _gaze(tmp_path, data=None, folder=False):
    root = gazefollow.build_release(tmp_path / "gaze")
    path = root / gazefollow.TRAIN_FILE
    if folder:
        path.unlink()
        path.mkdir()
    else:
        path.write_bytes(data)
    return "gaze", root, "train"


def _vat(tmp_path, data):
    root = vat.build_release(tmp_path / "vat")
    (root / "annotations" / "train" / vat.SHOW / vat.CLIP / "s01.txt").write_bytes(data)
    return "gaze_video", root, "train"


def _emotic_csv(tmp_path, data):
    root = emotic.build_csv_release(tmp_path / "emotic")
    (root / "emotic_pre" / "test.csv").write_bytes(data)
    return "emotion", root, "test"


def _emotic_mat_folder(tmp_path):
    root = emotic.build_mat_release(tmp_path / "emotic")
    (root / "Annotations" / "Annotations.mat").unlink()
    (root / "Annotations" / "Annotations.mat").mkdir()
    return "emotion", root, "train"


GOOD_GAZE_ROW = gazefollow.train_row("train/00000000/00000001.jpg", 1, (0.2, 0.3), (0.6, 0.7), (2, 1, 6, 5), 1)
NESTED = "[" * 100_000 + "]" * 100_000
LIKE = json.dumps(hagrid.hand_record(["like"]))

BAD_FILES = [
    ("hagrid-not-utf8", lambda t: _hagrid(t, data=f'{{"a": {LIKE},\n"b\xe9": {LIKE}}}'.encode("latin-1")),
     ["like.json:2: not UTF-8 text (byte 0xe9"]),
    ("hagrid-nested", lambda t: _hagrid(t, text=f'{{"a": {LIKE},\n"b": {NESTED}}}'),
     ["like.json: the value of key 'b' is nested too deeply to read (line 2)"]),
    ("hagrid-long-number", lambda t: _hagrid(t, text=f'{{"a": {LIKE},\n"b": {{"labels": ["like"], "bboxes": '
                                                       f'[[{"1" * 5000}, 0, 0.1, 0.1]]}}}}'),
     ["like.json: the value of key 'b' holds an integer of more than 4300 digits", "(line 2)"]),
    ("hagrid-syntax", lambda t: _hagrid(t, text=f'{{"a": {LIKE},\n"b": {{"labels": [like]}}}}'),
     ["like.json: the value of key 'b' is not valid JSON: Expecting value (line 2)"]),
    ("hagrid-folder", lambda t: _hagrid(t, folder=True), ["like.json: is a folder"]),
    ("pisc-not-utf8", lambda t: _pisc(t, "relationship.json", b'{"00001": {"1 2": 1},\n"0\xff": {}}'),
     ["relationship.json:2: not UTF-8 text (byte 0xff"]),
    ("pisc-nested", lambda t: _pisc(t, "annotation_image_info.json", ("[{},\n" + NESTED + "]").encode()),
     ["annotation_image_info.json: record 1 is nested too deeply to read (line 2)"]),
    ("pisc-long-number", lambda t: _pisc(t, "annotation_image_info.json",
                                         ('[\n{"id": 1, "imgW": ' + "7" * 5000 + "}]").encode()),
     ["annotation_image_info.json: record 0 holds an integer of more than 4300 digits", "(line 2)"]),
    ("pisc-repeated-key", lambda t: _pisc(t, "relationship.json", b'{"00001": {"1 2": 1},\n"00001": {"1 2": 2}}'),
     ["relationship.json: key '00001' is listed twice (line 2)"]),
    ("pisc-folder", lambda t: _pisc(t, "relationship.json", folder=True), ["relationship.json: is a folder"]),
    ("gaze-not-utf8", lambda t: _gaze(t, (GOOD_GAZE_ROW + "\n" + GOOD_GAZE_ROW + "\ncaf\xe9,1\n").encode("latin-1")),
     [f"{gazefollow.TRAIN_FILE}:3: not UTF-8 text (byte 0xe9"]),
    ("gaze-big-cell", lambda t: _gaze(t, (GOOD_GAZE_ROW + "\n" + GOOD_GAZE_ROW + "," + BIG_CELL + "\n").encode()),
     [f"{gazefollow.TRAIN_FILE}:2: not readable as CSV (field larger than field limit"]),
    ("gaze-folder", lambda t: _gaze(t, folder=True), [f"{gazefollow.TRAIN_FILE}: is a folder"]),
    ("vat-not-utf8", lambda t: _vat(t, b"00000001.jpg,20,4,26,10,8,4\n\xff\xfe,1,2,3,4,5,6\n"),
     ["s01.txt:2: not UTF-8 text (byte 0xff"]),
    ("vat-big-cell", lambda t: _vat(t, ("00000001.jpg,20,4,26,10,8," + BIG_CELL + "\n").encode()),
     ["s01.txt:1: not readable as CSV (field larger than field limit"]),
    ("emotic-csv-not-utf8", lambda t: _emotic_csv(t, ",".join(emotic.CSV_HEADER).encode() + b"\n0,caf\xe9\n"),
     ["test.csv:2: not UTF-8 text (byte 0xe9"]),
    ("emotic-csv-big-cell", lambda t: _emotic_csv(t, (",".join(emotic.CSV_HEADER) + "\n0," + BIG_CELL + "\n").encode()),
     ["test.csv:2: not readable as CSV (field larger than field limit"]),
    ("emotic-mat-folder", _emotic_mat_folder, ["Annotations.mat: is a folder"]),
]


@pytest.mark.parametrize("build, expected", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_unreadable_input_is_one_line_naming_file_and_line(tmp_path, capsys, build, expected):
    task, root, split = build(tmp_path)
    code = main(["convert", task, "--root", str(root), "--split", split, "--out", str(tmp_path / "out.json"),
                 "--no-progress", "--workers", "1"])
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.startswith("socialfusion convert: error: ") and error.count("\n") == 1, error
    for part in expected:
        assert part in error, error
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("flag", ["--out", "--report"])
def test_an_output_path_that_is_a_folder_is_one_line(tmp_path, capsys, flag):
    root = pisc.standard_release(tmp_path / "pisc")
    (tmp_path / "taken").mkdir()
    paths = {"--out": str(tmp_path / "out.json"), "--report": str(tmp_path / "report.json")}
    paths[flag] = str(tmp_path / "taken")
    code = main(["convert", "relation", "--root", str(root), "--split", "train", "--out", paths["--out"],
                 "--report", paths["--report"], "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2 and "taken" in error and error.count("\n") == 1, error

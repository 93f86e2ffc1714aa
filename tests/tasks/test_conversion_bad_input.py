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


def test_relation_boxes_without_area_are_skipped_and_swapped_corners_kept(tmp_path):
    boxes = {name: box for name, (box, _) in BAD_PIXEL_BOXES.items()}
    boxes["swapped"] = [40, 45, 10, 5]  # the same rectangle as [10, 5, 40, 45]
    records, found = _relation(tmp_path, boxes)
    assert len(records) == 1 and records[0]["meta"]["boxes"][1] == [0.1, 0.1, 0.4, 0.9]
    assert "[1.00, 1.00, 1.00, 1.00]" not in json.dumps(records)
    assert {name: reason for name, (reason, _) in found.items()} == {name: "invalid box" for name in BAD_PIXEL_BOXES}
    for name, (_, kind) in BAD_PIXEL_BOXES.items():
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
    assert found == {"2": "empty head box", "4": "malformed row", "5": "malformed row", "6": "malformed row",
                     "7": "malformed row"}
    assert skips(report)["2"][1].startswith("zero-area box")


def test_gaze_video_zero_area_head_box_and_infinite_gaze_are_skipped(tmp_path):
    lines = [vat.line(1, (4, 2, 12, 8), (16, 8)), vat.line(2, (4, 2, 4, 8), (16, 8)),
             vat.line(3, (4, 2, 12, 8), ("inf", 8))]
    root = vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines})
    records, report = run("gaze_video", root, "train", tmp_path)
    assert len(records) == 1
    assert {line: reason for line, (reason, _) in skips(report).items()} == {"2": "empty head box",
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

"""The TSV example of docs/adding-a-task.md (one TSV per split, boxes in pixels), installed as written
and run on the page's own `train.tsv`: every bad row is a counted skip with its reason and line, the
good rows' boxes are normalized by their image's size, and the page's summary is what `convert` prints."""
import json

import pytest
from PIL import Image
from test_sixth_task_example import installed_example, page_block

from socialfusion_plugin.cli.main import main

EXAMPLE = "tsv-task"
# the page shows the one byte that is not UTF-8 as this placeholder (the page itself is UTF-8)
NOT_UTF8_PLACEHOLDER = b"<0xe9>"


@pytest.fixture
def posture_plugin(tmp_path, monkeypatch):
    with installed_example(tmp_path / "site", monkeypatch, EXAMPLE) as name:
        assert name == "posture"
        yield


def write_release(root):
    """The page's release: its train.tsv, a one-row test.tsv, and the two images it names."""
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (200, 100), (90, 90, 90)).save(root / "images" / "street.jpg")
    Image.new("RGB", (64, 64), (20, 120, 40)).save(root / "images" / "park.jpg")
    (root / "annotations").mkdir()
    train = page_block("annotations/train.tsv", EXAMPLE).encode("utf-8")
    assert train.count(NOT_UTF8_PLACEHOLDER) == 1
    (root / "annotations" / "train.tsv").write_bytes(train.replace(NOT_UTF8_PLACEHOLDER, b"\xe9"))
    header = train.splitlines()[0]
    (root / "annotations" / "test.tsv").write_bytes(header + b"\r\nimages/park.jpg\t16\t0\t48\t64\tstanding\r\n")
    return root


def convert(root, split, tmp_path):
    out, report = tmp_path / f"posture_{split}.json", tmp_path / f"report_{split}.json"
    code = main(["convert", "posture", "--root", str(root), "--split", split, "--out", str(out),
                 "--report", str(report), "--no-progress"])
    return code, out, report


def test_each_bad_row_is_a_counted_skip_on_its_own_line(posture_plugin, tmp_path, capsys):
    root = write_release(tmp_path / "posture")
    code, out, report = convert(root, "train", tmp_path)
    assert code == 0
    assert page_block("summary", EXAMPLE) in capsys.readouterr().out
    counts = json.loads(report.read_text())
    assert (counts["read"], counts["converted"], counts["skipped"]) == (11, 4, 7)
    assert [(entry["ref"], entry["reason"]) for entry in counts["skipped_records"]] == [
        ("train.tsv:5", "malformed number"),
        ("train.tsv:6", "inverted box"),
        ("train.tsv:7", "box outside the image"),
        ("train.tsv:8", "unknown label"),
        ("train.tsv:9", "image not found"),
        ("train.tsv:10", "not UTF-8 text"),  # its real line, not the first line of a decoded chunk
        ("train.tsv:11", "wrong number of columns"),
    ]
    # the entry the page quotes
    assert {"ref": "train.tsv:10", "reason": "not UTF-8 text",
            "detail": "byte 0xe9 at byte 11 of the line"} in counts["skipped_records"]

    records = json.loads(out.read_text())
    assert [(r["id"], r["meta"]["box"], r["meta"]["image_size"], r["conversations"][1]["value"]) for r in records] == [
        ("posture/train/images/street/line2", [0.1, 0.1, 0.6, 0.9], [200, 100], "standing"),
        ("posture/train/images/park/line3", [0.0, 0.0, 1.0, 0.5], [64, 64], "sitting"),
        # -10 and 110 pixels reach a little past the 200 x 100 image: clamped to its border
        ("posture/train/images/street/line4", [0.0, 0.05, 0.5, 1.0], [200, 100], "lying"),
        ("posture/train/images/park/line12", [0.125, 0.25, 0.625, 0.75], [64, 64], "lying"),
    ]
    assert "[0.10, 0.10, 0.60, 0.90]" in records[0]["conversations"][0]["value"]


def test_each_split_reads_its_own_file(posture_plugin, tmp_path):
    root = write_release(tmp_path / "posture")
    code, out, report = convert(root, "test", tmp_path)
    assert code == 0
    assert json.loads(report.read_text())["read"] == 1
    [record] = json.loads(out.read_text())
    assert record["meta"]["box"] == [0.25, 0.0, 0.75, 1.0]
    assert record["conversations"][0]["value"] == (
        "<image>\nIs the person in the box [0.25, 0.00, 0.75, 1.00] standing, sitting or lying? Answer with one word.")


def test_scores_use_the_metric_helpers(posture_plugin, tmp_path):
    root = write_release(tmp_path / "posture")
    _, out, _ = convert(root, "train", tmp_path)
    ids = [record["id"] for record in json.loads(out.read_text())]  # standing, sitting, lying, lying
    answers = ["Standing.", "sitting", "lying, or sitting", "lying"]  # the third names two: unparsed
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, answers)))
    metrics = tmp_path / "m.json"
    assert main(["score", "posture", "--predictions", str(predictions), "--references", str(out),
                 "--out", str(metrics)]) == 0
    scored = json.loads(metrics.read_text())["metrics"]
    assert scored["accuracy"] == 0.75
    # one-hot scores: standing and sitting AP 1; lying ranks its one answered record first, then
    # ties the unparsed one with the two others: AP = 0.5 * 1 + 0.5 * (2 / 4) = 0.75
    assert scored["per_class_ap"] == {"standing": 1.0, "sitting": 1.0, "lying": 0.75}
    assert scored["mean_ap"] == pytest.approx((1 + 1 + 0.75) / 3)


def test_a_header_that_is_not_utf8_stops_the_split_naming_its_line(posture_plugin, tmp_path, capsys):
    root = write_release(tmp_path / "posture")
    path = root / "annotations" / "train.tsv"
    path.write_bytes(b"image\tx1\ty1\tx2\ty2\tlab\xe9l\n" + path.read_bytes().split(b"\n", 1)[1])
    code, out, _ = convert(root, "train", tmp_path)
    assert code == 2 and not out.exists()
    assert f"{path}:1: not UTF-8 text (byte 0xe9 at byte offset 21)" in capsys.readouterr().err

"""`gaze_video` (VideoAttentionTarget): conversion, options, skips, errors, golden prompts
(the CLI round trip: test_every_task.py)."""
from __future__ import annotations

import json

import pytest
from socialfusion_plugin.demo.releases.video_attention_target import (
    CLIP,
    OTHER_SHOW,
    S00_SKIPS,
    SHOW,
    TRACK_OTHER,
    TRACK_S00,
    TRACK_S01,
    build_release,
    line,
)

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.base import TaskOptionsError
from socialfusion_plugin.tasks.conversion import convert


@pytest.fixture
def task():
    return TASKS.get("gaze_video")


def run_convert(task, root, split, tmp_path, options=None):
    out, report = tmp_path / f"{split}.json", tmp_path / f"{split}_report.json"
    convert(task, root, split, out, options=options, report_path=report, progress=False)
    return json.loads(out.read_text()), json.loads(report.read_text())


def test_conversion_counts_and_skip_reasons(task, tmp_path):
    root = build_release(tmp_path / "vat")
    records, report = run_convert(task, root, "train", tmp_path)
    assert report["read"] == len(TRACK_S00) + len(TRACK_S01) + len(TRACK_OTHER) == 14
    assert report["converted"] + report["skipped"] == report["read"]
    assert report["skip_reasons"] == S00_SKIPS
    assert report["converted"] == 8
    refs = {e["ref"]: e["reason"] for e in report["skipped_records"]}
    assert refs[f"annotations/train/{SHOW}/{CLIP}/s00.txt:5"] == "malformed line"
    assert refs[f"annotations/train/{SHOW}/{CLIP}/s00.txt:11"] == "invalid head box"  # corners never swapped


def test_records_normalize_pixels_and_mark_out_of_frame(task, tmp_path):
    root = build_release(tmp_path / "vat")
    records, _ = run_convert(task, root, "train", tmp_path)
    by_id = {r["id"].split("/", 2)[2]: r for r in records}
    first = by_id[f"{SHOW}/{CLIP}/s00/00000001"]
    assert first["image"] == f"images/{SHOW}/{CLIP}/00000001.jpg"
    # box (4,2)-(12,8) and gaze (16,8) in a 32x16 frame
    assert first["meta"]["head_box"] == [0.125, 0.125, 0.375, 0.5]
    assert first["meta"]["gaze"] == [0.5, 0.5] and first["meta"]["in_frame"] is True
    assert first["conversations"][1]["value"] == "(0.50, 0.50)"
    out = by_id[f"{SHOW}/{CLIP}/s00/00000002"]
    assert out["meta"]["in_frame"] is False and out["meta"]["gaze"] is None
    assert out["conversations"][1]["value"] == "out of frame"
    # gaze x = -0.6 px: clamped to 0 and still in frame
    assert by_id[f"{SHOW}/{CLIP}/s00/00000003"]["meta"]["gaze"] == [0.0, 0.5]
    assert by_id[f"{SHOW}/{CLIP}/s00/00000004"]["meta"]["head_box"] == [0.125, 0.125, 0.375, 0.5]
    # the same corners in the wrong order (line 11, frame 9): a skip, not a record
    assert f"{SHOW}/{CLIP}/s00/00000009" not in by_id
    # (28,10)-(36,20) clamped to the 32x16 frame
    assert by_id[f"{SHOW}/{CLIP}/s00/00000008"]["meta"]["head_box"] == [0.875, 0.625, 1.0, 1.0]
    # a second person in frame 1, and the other show after this one (sorted order)
    assert f"{SHOW}/{CLIP}/s01/00000001" in by_id
    assert records[-1]["id"] == f"gaze_video/train/{OTHER_SHOW}/{CLIP}/s00/00000005"


def test_golden(task, tmp_path, golden):
    root = build_release(tmp_path / "vat")
    records, _ = run_convert(task, root, "train", tmp_path)
    golden("gaze_video_train", records)


def test_frame_stride_keeps_every_kth_line_and_counts_the_rest(task, tmp_path):
    lines = [line(n, (4, 2, 12, 8), (16, 8)) for n in range(1, 8)]
    root = build_release(tmp_path / "vat", tracks={(SHOW, CLIP, "s00"): lines})
    records, report = run_convert(task, root, "train", tmp_path, options={"frame_stride": "3"})
    # lines at positions 0, 3, 6 -> frames 1, 4, 7
    assert [r["meta"]["frame"] for r in records] == ["00000001.jpg", "00000004.jpg", "00000007.jpg"]
    assert report["read"] == 7 and report["skip_reasons"] == {"not sampled (frame_stride)": 4}
    assert report["options"] == {"frame_stride": 3, "smooth_boxes": False}


def test_smooth_boxes_is_the_reference_moving_average(task, tmp_path):
    # ten lines; xmin jumps from 0 to 11 px at the 6th; the box keeps its 16 px width
    xmins = [0] * 5 + [11] * 5
    lines = [line(n + 1, (x, 0, x + 16, 16), (16, 8)) for n, x in enumerate(xmins)]
    root = build_release(tmp_path / "vat", tracks={(SHOW, CLIP, "s00"): lines})
    records, _ = run_convert(task, root, "train", tmp_path, options={"smooth_boxes": "true"})
    # padded track (5 copies of the first/last value at each end): 0 0 0 0 0 | 0 0 0 0 0 11 11 11 11 11 | 11 x5
    # window 11 centred on line 1 covers 5 pads + lines 1..6 -> one 11: mean 1 px -> 1/32 = 0.03125
    assert records[0]["meta"]["head_box"][0] == pytest.approx(1 / 32)
    # centred on line 10 covers lines 5..10 (five 11s: lines 6..10) + 5 pads of 11 -> 10 * 11 / 11 = 10 px
    assert records[9]["meta"]["head_box"][0] == pytest.approx(10 / 32)
    unsmoothed, _ = run_convert(task, root, "train", tmp_path)
    assert unsmoothed[0]["meta"]["head_box"][0] == 0.0


@pytest.mark.parametrize("options", [{"frame_stride": "0"}, {"frame_stride": "two"}, {"smooth_boxes": "maybe"},
                                     {"window": "3"}])
def test_bad_options_are_rejected(task, options):
    with pytest.raises(TaskOptionsError):
        task.options(options)


def test_missing_annotation_folder(task, tmp_path):
    root = build_release(tmp_path / "vat", split="train")
    with pytest.raises(FileNotFoundError, match="annotations/test"):
        convert(task, root, "test", tmp_path / "out.json", progress=False)


def test_prompts_have_paraphrases_and_mention_out_of_frame(task):
    from socialfusion_plugin.tasks.conversion import load_prompts

    prompts = load_prompts(task.prompts_file)
    assert len(prompts.train) >= 4 and prompts.fields() == ["box"]
    assert all("out of frame" in p for p in prompts.train + (prompts.eval,))


def test_unreadable_frame_is_skipped_and_the_clip_size_still_found(task, tmp_path):
    lines = [line(1, (4, 2, 12, 8), (16, 8)), line(2, (4, 2, 12, 8), (16, 8))]
    root = build_release(tmp_path / "vat", tracks={(SHOW, CLIP, "s00"): lines})
    (root / "images" / SHOW / CLIP / "00000001.jpg").write_bytes(b"not a jpeg")
    records, report = run_convert(task, root, "train", tmp_path)
    assert report["skip_reasons"] == {"unreadable image": 1}
    assert [r["meta"]["frame"] for r in records] == ["00000002.jpg"]
    assert records[0]["meta"]["image_size"] == [32, 16]

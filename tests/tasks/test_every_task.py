"""What every registered task promises, tested once for all of them: a missing root is named, an
image path that leaves the root stops the conversion, garbage answers parse to None, and perfect
answers round-trip through `convert` and `score` to the best metrics. The data that shows each
promise for one task (its release layout, its metrics) is in the tables here; what a task does
beyond the promises stays in its own test files."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.releases import emotic, gazefollow, hagrid, pisc
from socialfusion_plugin.demo.releases import video_attention_target as vat
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert
from socialfusion_plugin.tasks.paths import PathEscapeError

TASK_NAMES = TASKS.names()
EVERY_SPLIT = [(name, split) for name in TASK_NAMES for split in TASKS.get(name).splits]


# ---- a missing dataset root -------------------------------------------------------------------

@pytest.mark.parametrize("name, split", EVERY_SPLIT)
def test_a_missing_root_is_named_by_convert_and_by_read(tmp_path, name, split):
    task = TASKS.get(name)
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        convert(task, tmp_path / "nowhere", split, tmp_path / "out.json", progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list(task.read(tmp_path / "nowhere", split, task.options()))


# ---- an image path that leaves the root -------------------------------------------------------

def _gesture_escape(tmp_path):
    return hagrid.write_release(tmp_path / "hagrid", {("test", "ok"): {"../../../outside": hagrid.hand_record(["ok"])}},
                                []), "test"


def _relation_escape(tmp_path):
    escape = "../../../outside"
    info = [{"id": escape, "imgW": 10, "imgH": 10, "bbox": [[0, 0, 5, 5], [5, 5, 10, 10]]}]
    return pisc.write_release(tmp_path / "pisc", info, {escape: {"1 2": 1}}, {}, {"train": [escape]}, {}, []), "train"


def _emotion_escape(tmp_path):
    root = tmp_path / "emotic"
    emotic.make_image(tmp_path, "outside.jpg")
    entry = emotic.image_entry("outside.jpg", "../..", 6, 8, [emotic.train_person([0, 0, 4, 4], ["Pain"])])
    emotic.write_mat(root / "Annotations" / "Annotations.mat", {"train": [entry], "val": [entry], "test": [entry]})
    return root, "train"


def _gaze_escape(split):
    def build(tmp_path):
        root = gazefollow.build_release(tmp_path / "gazefollow")
        box = (2.0, 1.0, 6.0, 5.0)
        if split == "train":
            # refused even though the row would be skipped as out of frame
            rows = [gazefollow.train_row("../outside.jpg", 1, (0.2, 0.2), (-1, -1), box, 0)]
            gazefollow.write_lines(root / gazefollow.TRAIN_FILE, rows)
        else:
            rows = [gazefollow.annotator_row("test2/../../outside.jpg", 1, (0.2, 0.2), (0.5, 0.5), box)]
            gazefollow.write_lines(root / gazefollow.TEST_FILE, rows)
        gazefollow.make_image(tmp_path, "outside.jpg")
        return root, split
    return build


def _gaze_video_escape(tmp_path):
    lines = [vat.line("../../../../secret.jpg", (4, 2, 12, 8), (16, 8))]
    return vat.build_release(tmp_path / "vat", tracks={(vat.SHOW, vat.CLIP, "s00"): lines}), "train"


ESCAPES: Dict[str, List[Callable]] = {
    "gesture": [_gesture_escape],
    "relation": [_relation_escape],
    "emotion": [_emotion_escape],
    "gaze": [_gaze_escape("train"), _gaze_escape("test")],
    "gaze_video": [_gaze_video_escape],
}


def test_every_task_has_an_escaping_release():
    assert sorted(ESCAPES) == sorted(TASK_NAMES)


@pytest.mark.parametrize("name, build", [(name, build) for name, builds in ESCAPES.items() for build in builds])
def test_an_image_path_leaving_the_root_stops_the_conversion(tmp_path, name, build):
    root, split = build(tmp_path)
    with pytest.raises(PathEscapeError):
        convert(TASKS.get(name), root, split, tmp_path / "out.json", progress=False)


# ---- answers that are not answers -------------------------------------------------------------

GARBAGE = ["", "   ", "I cannot tell.", "banana", "%%%", "no idea", "relation", "???", None, 42, 3.5]


@pytest.mark.parametrize("name", TASK_NAMES)
@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_parses_to_none(name, text):
    task = TASKS.get(name)
    assert task.parse_answer(text, task.options()) is None


# ---- perfect answers round-trip through convert and score -------------------------------------

@dataclass
class RoundTrip:
    task: str
    build: Callable[[Any], Any]  # tmp_path -> release root
    counts: Tuple[int, int, int]  # the report's (read, converted, skipped)
    metrics: Dict[str, Any]  # values of the score's metrics
    options: Sequence[str] = ()
    check: Callable[[List[dict], Dict[str, Any]], None] = lambda records, metrics: None


def _gaze_release(tmp_path):
    box = (2.0, 1.0, 6.0, 5.0)
    path = "test2/00000000/00000001.jpg"
    rows = [
        # two annotators who agree, so the answer (their mean) is exactly each of them
        gazefollow.annotator_row(path, 1, (0.25, 0.3), (0.6, 0.25), box),
        gazefollow.annotator_row(path, 2, (0.25, 0.3), (0.6, 0.25), box),
        gazefollow.annotator_row("test2/00000000/00000002.jpg", 3, (0.5, 0.5), (0.15, 0.85), box),
    ]
    return gazefollow.build_release(tmp_path / "gazefollow", test_rows=rows)


def _gaze_video_release(tmp_path):
    return vat.build_release(tmp_path / "vat", split="test", tracks={
        (vat.SHOW, vat.CLIP, "s00"): [vat.line(1, (4, 2, 12, 8), (8, 4)), vat.line(2, (4, 2, 12, 8), (-1, -1)),
                                      vat.line(3, (4, 2, 12, 8), (24, 12))],
        (vat.SHOW, vat.CLIP, "s01"): [vat.line(1, (20, 4, 26, 10), (-0.4, 8))],
    })


def _gesture_prompts_and_reduced_set(records, metrics):
    assert {r["conversations"][0]["value"] for r in records} == {
        "<image>\nWhich hand gesture is shown in this image? Answer with the gesture name."
    }
    assert metrics["without_no_gesture"]["n"] == 3 and metrics["without_no_gesture"]["f1_macro"] == 1.0


def _emotion_classes(records, metrics):
    positives = {"Doubt/Confusion", "Engagement", "Happiness", "Pleasure", "Sadness"}
    assert {k for k, v in metrics["per_class_ap"].items() if v is not None} == positives


ZERO = pytest.approx(0.0, abs=1e-12)  # a distance summed from floats
ROUND_TRIPS = [
    RoundTrip("gesture", lambda tmp_path: hagrid.standard_release(tmp_path / "hagrid"), (4, 4, 0),
              {"f1_micro": 1.0, "f1_macro": 1.0}, check=_gesture_prompts_and_reduced_set),
    RoundTrip("relation", lambda tmp_path: pisc.standard_release(tmp_path / "pisc"), (3, 3, 0),
              {"granularity": "fine", "accuracy": 1.0, "mean_ap": 1.0, "mean_recall": 1.0},
              options=["granularity=fine"]),
    RoundTrip("relation", lambda tmp_path: pisc.standard_release(tmp_path / "pisc"), (3, 3, 0),
              {"granularity": "coarse", "accuracy": 1.0, "mean_ap": 1.0, "mean_recall": 1.0},
              options=["granularity=coarse"]),
    # only the first person has complete ratings (the second has a NaN arousal)
    RoundTrip("emotion", lambda tmp_path: emotic.build_mat_release(tmp_path / "emotic"), (4, 2, 2),
              {"mean_ap": 1.0, "micro_f1": 1.0, "vad_n": 1,
               "vad_mae": {"valence": 0.0, "arousal": 0.0, "dominance": 0.0, "mean": 0.0}},
              options=["include_vad=true"], check=_emotion_classes),
    RoundTrip("gaze", _gaze_release, (2, 2, 0), {"auc": 1.0, "avg_l2": ZERO, "min_l2": ZERO}),
    RoundTrip("gaze_video", _gaze_video_release, (4, 4, 0),
              {"auc": 1.0, "inout_ap": 1.0, "l2": ZERO, "frames_in_frame": 3}),
]


def test_every_task_has_a_round_trip():
    assert sorted({case.task for case in ROUND_TRIPS}) == sorted(TASK_NAMES)


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=lambda case: f"{case.task}-{'-'.join(case.options) or 'default'}")
def test_perfect_answers_score_best(tmp_path, case):
    task = TASKS.get(case.task)
    root = case.build(tmp_path)
    converted, report = tmp_path / "test.json", tmp_path / "report.json"
    options = [arg for option in case.options for arg in ("--option", option)]
    assert main(["convert", case.task, "--root", str(root), "--split", "test", "--out", str(converted),
                 "--report", str(report), *options, "--no-progress"]) == 0
    counts = json.loads(report.read_text(encoding="utf-8"))
    assert (counts["read"], counts["converted"], counts["skipped"]) == case.counts
    records = json.loads(converted.read_text(encoding="utf-8"))
    assert len(records) == case.counts[1]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"id": r["id"], "text": r["conversations"][1]["value"]}) + "\n"
                                   for r in records), encoding="utf-8")
    metrics_path = tmp_path / "metrics.json"
    assert main(["score", case.task, "--predictions", str(predictions), "--references", str(converted),
                 "--out", str(metrics_path)]) == 0
    result = json.loads(metrics_path.read_text(encoding="utf-8"))
    assert (result["n"], result["unparsed"]) == (case.counts[1], 0)
    assert result["notes"]  # how the numbers are made is stated with them
    metrics = result["metrics"]
    assert metrics[task.primary_metric] == (1.0 if task.higher_is_better else 0.0)
    assert {name: metrics.get(name) for name in case.metrics} == case.metrics
    case.check(records, metrics)

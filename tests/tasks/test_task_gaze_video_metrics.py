"""`gaze_video` answers and metrics against hand-computed cases (numbers worked out in comments)."""
from __future__ import annotations

import math

import pytest

from socialfusion_plugin.registry import TASKS


@pytest.fixture
def task():
    return TASKS.get("gaze_video")


def score(task, metas, texts, class_scores=None):
    options = task.options()
    predictions = [task.parse_answer(t, options) for t in texts]
    return task.score(metas, predictions, class_scores or [None] * len(metas), options)


def in_frame(x, y):
    return {"in_frame": True, "gaze": [x, y]}


OUT = {"in_frame": False, "gaze": None}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(0.45, 0.53)", {"in_frame": True, "point": [0.45, 0.53]}),
        ("They look at (0.45,0.53).", {"in_frame": True, "point": [0.45, 0.53]}),
        ("out of frame", {"in_frame": False}),
        ("Out of frame.", {"in_frame": False}),
        ("The target is OUTSIDE THE FRAME", {"in_frame": False}),
        ("It is not in the image.", {"in_frame": False}),
        ("out of view", {"in_frame": False}),
        ("Looking off-screen", {"in_frame": False}),
        ("(-1, -1)", {"in_frame": False}),
    ],
)
def test_parse(task, text, expected):
    assert task.parse_answer(text, task.options()) == expected


@pytest.mark.parametrize("text", ["", "somewhere", "(0.2, 0.3) but out of frame", "(1.5, 0.2)", None])
def test_parse_rejects_garbage_and_contradictions(task, text):
    assert task.parse_answer(text, task.options()) is None


def test_format_answer(task):
    options = task.options()
    assert task.format_answer(in_frame(0.125, 0.5), options) == "(0.12, 0.50)"
    assert task.format_answer(OUT, options) == "out of frame"


def test_perfect_point_and_far_point(task):
    # ground truth (0.5, 0.5): grid point (32, 32); window cells int(32-9)=23 .. int(32+10)-1=41 -> 19 x 19 = 361
    # positives, 4096 - 361 = 3735 negatives. The same point predicted: identical map -> AUC 1.
    # Predicted (0.1, 0.1): grid (6.4, 6.4), window cells int(-2.6)=-2 -> 0 .. int(16.4)-1 = 15: 16 x 16 = 256
    # cells > 0, none of them positive. Positives all score 0; they tie with the 3735 - 256 = 3479
    # zero-scored negatives and lose to the 256: AUC = 0.5 * 3479 / 3735.
    result = score(task, [in_frame(0.5, 0.5), in_frame(0.5, 0.5)], ["(0.5, 0.5)", "(0.1, 0.1)"])
    assert result["parsed_only"]["auc"] == pytest.approx((1.0 + 0.5 * 3479 / 3735) / 2)
    # L2: 0 and sqrt(0.4^2 + 0.4^2)
    assert result["l2"] == pytest.approx(math.sqrt(0.32) / 2)
    assert result["auc"] == result["parsed_only"]["auc"]


def test_out_of_frame_frames_do_not_enter_auc_and_l2(task):
    result = score(task, [in_frame(0.5, 0.5), OUT], ["(0.5, 0.5)", "(0.9, 0.9)"])
    assert result["auc"] == 1.0 and result["l2"] == pytest.approx(0.0)
    assert result["frames"] == 2 and result["frames_in_frame"] == 1


def test_inout_ap_from_answers_with_ties(task):
    # truth [in, in, out, out], answer scores [1, 0, 1, 0]. Thresholds: >= 1 -> {f0, f2}: precision 1/2,
    # recall 1/2; >= 0 -> all: precision 2/4, recall 1. AP = 0.5 * 0.5 + 0.5 * 0.5 = 0.5
    metas = [in_frame(0.5, 0.5), in_frame(0.2, 0.2), OUT, OUT]
    result = score(task, metas, ["(0.5, 0.5)", "out of frame", "(0.3, 0.3)", "out of frame"])
    assert result["inout_ap"] == pytest.approx(0.5)
    # the in-frame frame answered "out of frame" has no point: worst AUC 0 and distance sqrt(2)
    assert result["auc"] == pytest.approx((1.0 + 0.0) / 2)
    assert result["l2"] == pytest.approx((0.0 + math.sqrt(2)) / 2)
    assert result["out_of_frame_answers_on_in_frame"] == 1 and result["unparsed"] == 0


def test_inout_ap_uses_ranking_scores_when_given(task):
    # truth [in, out, in]; every answer says "out of frame" (all scores 0 -> AP = 2/3 from answers),
    # but ranking scores in - out = [0.8, -0.4, 0.2] put both in-frame frames first -> AP = 1
    metas = [in_frame(0.5, 0.5), OUT, in_frame(0.2, 0.2)]
    texts = ["out of frame"] * 3
    assert score(task, metas, texts)["inout_ap"] == pytest.approx(2 / 3)
    scores = [{"in frame": 0.9, "out of frame": 0.1}, {"in frame": 0.3, "out of frame": 0.7},
              {"in frame": 0.6, "out of frame": 0.4}]
    assert score(task, metas, texts, scores)["inout_ap"] == pytest.approx(1.0)


def test_all_unparseable(task):
    # unparsed answers get the in/out score opposite to the truth: truth [in, out] with scores [0, 1]:
    # threshold 1 -> {f1}: precision 0, recall 0; threshold 0 -> precision 1/2, recall 1: AP = 0.5
    result = score(task, [in_frame(0.5, 0.5), OUT], ["???", "no idea"])
    assert result["unparsed"] == 2
    assert result["auc"] == 0.0 and result["l2"] == pytest.approx(math.sqrt(2))
    assert result["inout_ap"] == pytest.approx(0.5)
    assert result["parsed_only"] == {"frames_in_frame_with_point": 0, "auc": None, "l2": None}


def test_no_in_frame_frames_gives_undefined_metrics(task):
    result = score(task, [OUT, OUT], ["out of frame", "(0.1, 0.2)"])
    assert result["auc"] is None and result["l2"] is None and result["inout_ap"] is None

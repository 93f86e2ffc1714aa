"""`gaze` answers and metrics against hand-computed cases (numbers worked out in the comments)."""
from __future__ import annotations

import math

import pytest

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.gaze_targets import reference_labelmap


@pytest.fixture
def task():
    return TASKS.get("gaze")


def score(task, metas, predictions):
    return task.score(metas, predictions, [None] * len(metas), task.options())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(0.45, 0.53)", (0.45, 0.53)),
        ("The person is looking at (0.45,0.53).", (0.45, 0.53)),
        ("GAZE POINT: [0.2; 0.8]", (0.2, 0.8)),
        ("x = 0.1, y = 0.95", (0.1, 0.95)),
        ("X: .5 and Y: 1", (0.5, 1.0)),
        ("0.3 0.4", (0.3, 0.4)),
        ("at 45%, 60% of the image", (0.45, 0.6)),
        ("(0, 1)", (0.0, 1.0)),
    ],
)
def test_parse_accepts_common_forms(task, text, expected):
    parsed = task.parse_answer(text, task.options())
    assert parsed == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    ["", "looking at the door", "(0.4)", "(45, 60)", "(-0.2, 0.5)", "[0.12, 0.30, 0.45, 0.88]", "1 2 3", None, 42],
)
def test_parse_rejects_garbage(task, text):
    assert task.parse_answer(text, task.options()) is None


def test_format_answer_is_mean_point_with_two_decimals(task):
    assert task.format_answer({"gaze_points": [[0.1, 0.2], [0.3, 0.4]]}, task.options()) == "(0.20, 0.30)"


# A 4x2 image. Pixel of a point = (int(x*4), int(y*2)).
ONE_ANNOTATOR = {"image_size": [4, 2], "gaze_points": [[0.6, 0.25]]}  # pixel (col 2, row 0)
TWO_ANNOTATORS = {"image_size": [4, 2], "gaze_points": [[0.6, 0.25], [0.8, 0.75]]}  # (2, 0) and (3, 1)


def test_perfect_single_annotator(task):
    result = score(task, [ONE_ANNOTATOR], [(0.6, 0.25)])
    assert result["auc"] == 1.0
    assert result["avg_l2"] == pytest.approx(0.0)
    assert result["min_l2"] == pytest.approx(0.0)


def test_auc_ranks_pixels_by_distance_to_the_prediction(task):
    # prediction (0.1, 0.9) -> pixel (col 0, row 1). Squared pixel distances d2 = c^2 + (r-1)^2:
    #   row 0: 1  2  5 10      row 1: 0  1  4  9
    # the positive (col 2, row 0) has d2 = 5; it outranks the negatives with d2 10 and 9 only:
    # AUC = 2 / 7
    result = score(task, [ONE_ANNOTATOR], [(0.1, 0.9)])
    assert result["auc"] == pytest.approx(2 / 7)
    # distance (0.1, 0.9)-(0.6, 0.25) = sqrt(0.25 + 0.4225)
    assert result["avg_l2"] == pytest.approx(math.sqrt(0.6725))
    assert result["min_l2"] == pytest.approx(math.sqrt(0.6725))


def test_auc_with_ties_and_two_annotators(task):
    # prediction (0.6, 0.25) -> pixel (2, 0). d2 = (c-2)^2 + r^2:
    #   row 0: 4  1  0  1      row 1: 5  2  1  2
    # positives: (2,0) d2 0 beats all 6 negatives; (3,1) d2 2 beats d2 4 and 5, ties d2 2 (col 1, row 1): 2.5
    # AUC = (6 + 2.5) / (2 * 6) = 8.5 / 12
    result = score(task, [TWO_ANNOTATORS], [(0.6, 0.25)])
    assert result["auc"] == pytest.approx(8.5 / 12)
    # mean annotator point (0.7, 0.5): distance sqrt(0.1^2 + 0.25^2); nearest annotator: 0
    assert result["avg_l2"] == pytest.approx(math.sqrt(0.0725))
    assert result["min_l2"] == pytest.approx(0.0)


def test_unparseable_scores_worst_and_is_counted(task):
    # persons: AUC 2/7, 8.5/12 and unparsed (0) -> mean; distances: sqrt(0.6725), sqrt(0.0725), sqrt(2)
    result = score(task, [ONE_ANNOTATOR, TWO_ANNOTATORS, ONE_ANNOTATOR], [(0.1, 0.9), (0.6, 0.25), None])
    assert result["auc"] == pytest.approx((2 / 7 + 8.5 / 12 + 0.0) / 3)
    assert result["avg_l2"] == pytest.approx((math.sqrt(0.6725) + math.sqrt(0.0725) + math.sqrt(2)) / 3)
    assert result["min_l2"] == pytest.approx((math.sqrt(0.6725) + 0.0 + math.sqrt(2)) / 3)
    assert result["unparsed"] == 1 and result["persons"] == 3
    assert result["parsed_only"]["persons"] == 2
    assert result["parsed_only"]["auc"] == pytest.approx((2 / 7 + 8.5 / 12) / 2)
    assert result["parsed_only"]["min_l2"] == pytest.approx(math.sqrt(0.6725) / 2)


def test_all_unparseable(task):
    result = score(task, [ONE_ANNOTATOR, TWO_ANNOTATORS], [None, None])
    assert result["auc"] == 0.0
    assert result["avg_l2"] == pytest.approx(math.sqrt(2))
    assert result["min_l2"] == pytest.approx(math.sqrt(2))
    assert result["unparsed"] == 2
    assert result["parsed_only"] == {"persons": 0, "auc": None, "avg_l2": None, "min_l2": None}


def test_auc_at_original_resolution_is_affordable(task):
    # a 640x480 image (307,200 pixels per person), ten annotators: computed, and a close prediction
    # beats a far one
    meta = {"image_size": [640, 480], "gaze_points": [[0.5 + 0.01 * i, 0.5] for i in range(10)]}
    near, far = score(task, [meta], [(0.52, 0.5)]), score(task, [meta], [(0.05, 0.95)])
    assert near["auc"] > 0.99 > far["auc"]


def test_reference_labelmap_truncates_toward_zero_at_the_border():
    # point (3.2, 3.2) on a 64 grid: upper-left int(3.2 - 9) = int(-5.8) = -5, bottom-right
    # int(13.2) = 13 -> cells 0..12 in each direction: 13 x 13 = 169 non-zero cells, peak at (4, 4)
    grid = reference_labelmap(64, 3.2, 3.2, 3.0)
    assert int((grid > 0).sum()) == 169
    assert grid[4, 4] == 1.0
    assert grid[12, 12] > 0 and grid[13, 13] == 0

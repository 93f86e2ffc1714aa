"""gesture (HaGRIDv2): answer parser and hand-computed metrics (the CLI round trip: test_every_task.py)."""
from __future__ import annotations

import pytest

from socialfusion_plugin.registry import TASKS

TASK = TASKS.get("gesture")
OPTIONS = TASK.options()


def metas(labels, in_label_set=True):
    return [{"task": "gesture", "label": label, "no_gesture_in_label_set": in_label_set} for label in labels]


def score(labels, predictions, class_scores=None, in_label_set=True):
    class_scores = class_scores or [None] * len(labels)
    return TASK.score(metas(labels, in_label_set), predictions, class_scores, OPTIONS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("like", "like"),
        ("The gesture is: Like.", "like"),
        ("LIKE!", "like"),
        ("thumbs up", "like"),
        ("Thumbs-down.", "dislike"),
        ("a peace sign", "peace"),
        ("V sign", "peace"),
        ("okay", "ok"),
        ("OK.", "ok"),
        ("call me", "call"),
        ("stop sign", "stop"),
        ("It looks like a fist.", "fist"),
        ("No gesture", "no_gesture"),
        ("none", "no_gesture"),
        ("two up inverted", "two_up_inverted"),
        ("two-up-inverted", "two_up_inverted"),
        ("Two_Up_Inverted", "two_up_inverted"),
        ("two up", "two_up"),
        ("stop inverted", "stop_inverted"),
        ("peace_inverted", "peace_inverted"),
        ("three2", "three2"),
        ("three 2", "three2"),
        ("three", "three"),
        ("hands_heart2", "hand_heart2"),
        ("thumb index 2", "thumb_index2"),
    ],
)
def test_parser_reads_names_synonyms_and_spellings(text, expected):
    assert TASK.parse_answer(text, OPTIONS) == expected


def test_every_formatted_answer_parses_back():
    for label in TASK.label_names(OPTIONS):
        assert TASK.parse_answer(TASK.format_answer({"label": label}, OPTIONS), OPTIONS) == label


def test_metrics_hand_computed_with_and_without_no_gesture():
    result = score(["like", "like", "fist", "palm", "no_gesture"], ["like", "fist", "fist", None, "like"])
    # tp: like 1, fist 1. fn: like 1, palm 1 (unparsed), no_gesture 1. fp: fist 1, like 1.
    # F1 like 2/(2+1+1)=1/2, fist 2/(2+1)=2/3, palm 0, no_gesture 0; the other 30 classes have
    # tp+fp+fn == 0 and are left out: macro = (1/2 + 2/3 + 0 + 0) / 4 = 7/24.
    assert result["f1_macro"] == pytest.approx(7 / 24)
    assert result["f1_micro"] == pytest.approx(2 / 5) and result["accuracy"] == pytest.approx(2 / 5)
    assert result["num_classes"] == 34 and result["n"] == 5
    recall = result["per_class_recall"]
    assert recall["like"] == pytest.approx(0.5) and recall["fist"] == 1.0
    assert recall["palm"] == 0.0 and recall["no_gesture"] == 0.0
    assert recall["grip"] is None  # no positives
    without = result["without_no_gesture"]
    # The no_gesture reference is dropped: tp like 1, fist 1; fn like 1, palm 1; fp fist 1.
    # F1 like 2/3, fist 2/3, palm 0: macro = 4/9; accuracy 2/4.
    assert without["f1_macro"] == pytest.approx(4 / 9)
    assert without["accuracy"] == pytest.approx(0.5) and without["n"] == 4 and without["num_classes"] == 33
    assert "no_gesture" not in without["per_class_recall"]


def test_class_only_predicted_counts_in_macro_f1():
    # like: tp 1, fn 1 -> F1 2/3; grip: fp 1 -> F1 0 (present in predictions, so averaged in).
    result = score(["like", "like"], ["like", "grip"])
    assert result["f1_macro"] == pytest.approx(1 / 3)
    assert result["per_class_recall"]["grip"] is None


def test_no_gesture_answer_is_wrong_without_no_gesture():
    result = score(["like"], ["no_gesture"])
    # with no_gesture: like fn 1, no_gesture fp 1 -> both F1 0.
    assert result["f1_macro"] == 0.0 and result["accuracy"] == 0.0
    # without: no_gesture is outside the label set, so only like (fn 1) is averaged.
    assert result["without_no_gesture"]["f1_macro"] == 0.0 and result["without_no_gesture"]["accuracy"] == 0.0


def test_all_unparseable_predictions_score_zero():
    result = score(["like", "fist"], [None, None])
    assert result["accuracy"] == 0.0 and result["f1_macro"] == 0.0
    assert result["per_class_recall"]["like"] == 0.0 and result["per_class_recall"]["fist"] == 0.0


def test_ranking_scores_decide_and_ties_go_to_earlier_label():
    # fist (id 14) and like (id 16) tie: the earlier label, fist, is the prediction, whatever the text says.
    result = score(["fist", "like"], ["like", None], [{"like": 0.5, "fist": 0.5}, {"like": -0.1, "ok": -2.0}])
    assert result["accuracy"] == 1.0 and result["f1_macro"] == 1.0


def test_label_set_without_no_gesture_comes_from_meta():
    result = score(["like", "fist"], ["like", "fist"], in_label_set=False)
    assert result["num_classes"] == 33 and "no_gesture" not in result["per_class_recall"]
    assert result["f1_macro"] == 1.0

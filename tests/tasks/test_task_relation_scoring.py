"""relation (PISC): answer parser and hand-computed metrics (the CLI round trip: test_every_task.py)."""
from __future__ import annotations

import pytest

from socialfusion_plugin.registry import TASKS

TASK = TASKS.get("relation")
OPTIONS = TASK.options()


def metas(labels, granularity="fine"):
    return [{"task": "relation", "label": label, "granularity": granularity} for label in labels]


def score(labels, predictions, class_scores=None, granularity="fine"):
    class_scores = class_scores or [None] * len(labels)
    return TASK.score(metas(labels, granularity), predictions, class_scores, OPTIONS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("friends", "friends"),
        ("They are Friends.", "friends"),
        ("friend", "friends"),
        ("FAMILY MEMBERS!", "family"),
        ("a couple", "couple"),
        ("romantic partners", "couple"),
        ("lovers", "couple"),
        ("colleagues", "professional"),
        ("Co-workers.", "professional"),
        ("customer and seller", "commercial"),
        ("The relationship is: customer and vendor", "commercial"),
        ("strangers", "no relation"),
        ("No relationship.", "no relation"),
        ("none", "no relation"),
        ("intimate", "intimate"),
        ("Non-intimate", "non-intimate"),
        ("non intimate relationship", "non-intimate"),
        ("They are not intimate.", "non-intimate"),
    ],
)
def test_parser_reads_labels_and_synonyms(text, expected):
    assert TASK.parse_answer(text, OPTIONS) == expected


def test_every_formatted_answer_parses_back():
    for granularity in ("fine", "coarse"):
        options = TASK.options({"granularity": granularity})
        for label in TASK.label_names(options):
            assert TASK.parse_answer(TASK.format_answer({"label": label}, options), options) == label


def test_text_answers_give_one_hot_map_and_recall():
    result = score(["friends", "friends", "family", "couple"], ["friends", "family", "family", None])
    # One-hot scores per class (rows = 4 references):
    # friends: truth 1,1,0,0 scores 1,0,0,0 -> thresholds 1: P 1, R 1/2; 0: P 2/4, R 1 -> AP 1/2*1 + 1/2*1/2 = 3/4
    # family:  truth 0,0,1,0 scores 0,1,1,0 -> threshold 1: P 1/2, R 1 -> AP 1/2
    # couple:  truth 0,0,0,1 scores 0,0,0,0 (unparsed) -> threshold 0: P 1/4, R 1 -> AP 1/4
    # professional, commercial, no relation have no positives and are left out: mAP = (3/4+1/2+1/4)/3 = 1/2
    assert result["mean_ap"] == pytest.approx(0.5)
    assert result["per_class_ap"]["friends"] == pytest.approx(0.75)
    assert result["per_class_ap"]["commercial"] is None
    assert result["classes_without_positives"] == ["professional", "commercial", "no relation"]
    assert result["per_class_recall"] == {
        "friends": 0.5, "family": 1.0, "couple": 0.0, "professional": None, "commercial": None, "no relation": None,
    }
    assert result["mean_recall"] == pytest.approx(0.5) and result["accuracy"] == pytest.approx(0.5)
    assert result["granularity"] == "fine" and result["n"] == 4


def test_ranking_scores_give_real_ap_and_argmax_predictions():
    class_scores = [
        {"friends": 0.9, "family": 0.05, "couple": 0.05},  # truth friends, argmax friends
        {"friends": 0.4, "family": 0.5, "couple": 0.1},  # truth friends, argmax family
        {"friends": 0.6, "family": 0.3, "couple": 0.1},  # truth family, argmax friends
        {"friends": 0.1, "family": 0.2, "couple": 0.7},  # truth couple, argmax couple
    ]
    result = score(["friends", "friends", "family", "couple"], ["garbage"] * 4, class_scores)
    # friends: ranked .9(+) .6(-) .4(+) .1(-) -> AP 1/2*1 + 1/2*2/3 = 5/6
    # family:  ranked .5(-) .3(+) ... -> AP 1*1/2 = 1/2
    # couple:  ranked .7(+) first -> AP 1;  mAP = (5/6 + 1/2 + 1)/3 = 7/9
    assert result["per_class_ap"]["friends"] == pytest.approx(5 / 6)
    assert result["mean_ap"] == pytest.approx(7 / 9)
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["per_class_recall"]["family"] == 0.0 and result["per_class_recall"]["couple"] == 1.0


def test_ranking_tie_goes_to_earlier_label():
    result = score(["family"], [None], [{"couple": 1.0, "family": 1.0}])
    assert result["accuracy"] == 1.0


def test_all_unparseable_predictions():
    result = score(["friends", "family"], [None, None])
    # every score is 0: each class's AP is its positive rate, 1/2 (the chance floor); recall 0.
    assert result["mean_ap"] == pytest.approx(0.5)
    assert result["accuracy"] == 0.0 and result["mean_recall"] == 0.0


def test_coarse_references_accept_fine_answers_as_their_domain():
    result = score(["intimate", "non-intimate", "no relation"], ["friends", "professional", "intimate"], granularity="coarse")
    # friends -> intimate (right), professional -> non-intimate (right), intimate for no relation (wrong)
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["per_class_recall"] == {"intimate": 1.0, "non-intimate": 1.0, "no relation": 0.0}


def test_coarse_answer_is_wrong_for_fine_references():
    result = score(["friends", "family"], ["intimate", "family"])
    # "intimate" is no fine label: row 1 scores 0 everywhere.
    # friends: truth 1,0 scores 0,0 -> AP 1/2; family: truth 0,1 scores 0,1 -> AP 1; mAP 3/4
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["mean_ap"] == pytest.approx(0.75)


def test_mixed_granularities_are_refused():
    with pytest.raises(ValueError, match="granularity"):
        TASK.score(metas(["friends"]) + metas(["intimate"], "coarse"), [None, None], [None, None], OPTIONS)

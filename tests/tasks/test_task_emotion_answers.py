"""EMOTIC answers and metrics: lenient parsing, and mAP / micro F1 / VAD error checked against
numbers computed by hand."""
from __future__ import annotations

import pytest

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.emotion.labels import CATEGORIES, SYNONYMS

TASK = TASKS.get("emotion")
OPTIONS = TASK.options()


def parse(text):
    return TASK.parse_answer(text, OPTIONS)


def categories(text):
    parsed = parse(text)
    return None if parsed is None else parsed["categories"]


def test_category_list_is_the_release_order():
    assert len(CATEGORIES) == 26 and len(set(CATEGORIES)) == 26
    assert CATEGORIES[9] == "Doubt/Confusion" and CATEGORIES[-1] == "Yearning"
    assert set(SYNONYMS.values()) <= set(CATEGORIES)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Engagement, Happiness, Pleasure", ["Engagement", "Happiness", "Pleasure"]),
        ("happiness,ENGAGEMENT", ["Engagement", "Happiness"]),  # case; answer sorted canonically
        ("The emotions are: Peace.", ["Peace"]),  # surrounding words and punctuation
        ("Sadness and fatigue; fear\nsurprise", ["Fatigue", "Fear", "Sadness", "Surprise"]),
        ("doubt / confusion", ["Doubt/Confusion"]),
        ("Doubt/Confusion, Doubt", ["Doubt/Confusion"]),  # duplicates collapse
        ("She looks happy but tired", ["Fatigue", "Happiness"]),
        ("sad, angry, confused, peaceful", ["Anger", "Doubt/Confusion", "Peace", "Sadness"]),
        ("engaged and excited", ["Engagement", "Excitement"]),
        ("afraid, scared, surprised", ["Fear", "Surprise"]),
        ("embarrassed, annoyed, confident, disconnected",
         ["Annoyance", "Confidence", "Disconnection", "Embarrassment"]),
        ("unhappy", ["Sadness"]),  # not read as "happy"
        ("painful", ["Pain"]),
        ("Happiness, Blissfulness, Zest", ["Happiness"]),  # unknown words ignored
    ],
)
def test_parser_reads_categories(text, expected):
    assert categories(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "I cannot tell.", "valence 6, arousal 4, dominance 7", "12345", None, 42])
def test_parser_returns_none_without_a_category(text):
    assert parse(text) is None


def test_parser_reads_ratings_when_all_three_are_given():
    assert parse("Happiness; valence 6, arousal 4, dominance 7") == {
        "categories": ["Happiness"], "vad": {"valence": 6.0, "arousal": 4.0, "dominance": 7.0}}
    assert parse("Pain. Valence: 2.5, Arousal = 8, dominance is 3")["vad"] == {
        "valence": 2.5, "arousal": 8.0, "dominance": 3.0}
    assert parse("Happiness; valence 6, arousal 4")["vad"] is None  # incomplete


def test_format_answer_round_trips_through_the_parser():
    target = {"categories": ["Sympathy", "Affection"], "vad": {"valence": 7, "arousal": 3.5, "dominance": 6}}
    plain = TASK.format_answer(target, OPTIONS)
    with_vad = TASK.format_answer(target, TASK.options({"include_vad": True}))
    assert plain == "Affection, Sympathy"
    assert with_vad == "Affection, Sympathy; valence 7, arousal 3.5, dominance 6"
    assert parse(with_vad) == {"categories": ["Affection", "Sympathy"],
                               "vad": {"valence": 7.0, "arousal": 3.5, "dominance": 6.0}}


def _refs(*sets, vads=None):
    vads = vads or [None] * len(sets)
    return [{"task": "emotion", "categories": list(s), "vad": v} for s, v in zip(sets, vads)]


def _pred(names, vad=None):
    return {"categories": list(names), "vad": vad}


def test_text_answers_give_one_hot_average_precision():
    references = _refs(["Happiness"], ["Happiness", "Peace"], ["Peace"], ["Sadness"])
    predictions = [_pred(["Happiness"]), _pred(["Happiness"]), _pred(["Happiness", "Peace"]), None]
    metrics = TASK.score(references, predictions, [None] * 4, OPTIONS)
    ap = metrics["per_class_ap"]
    # Happiness: truth 1,1,0,0 scores 1,1,1,0 -> at score 1: precision 2/3, recall 1 -> AP 2/3
    assert ap["Happiness"] == pytest.approx(2 / 3)
    # Peace: truth 0,1,1,0 scores 0,0,1,0 -> (R .5, P 1), then everything (R 1, P 2/4) -> .5*1 + .5*.5
    assert ap["Peace"] == pytest.approx(0.75)
    # Sadness: its only positive got the unparseable answer (score 0 everywhere) -> P = 1/4 at R = 1
    assert ap["Sadness"] == pytest.approx(0.25)
    assert metrics["mean_ap"] == pytest.approx((2 / 3 + 0.75 + 0.25) / 3)  # = 5/9
    # 23 categories have no positive: no AP, not counted in the mean
    assert len(metrics["classes_without_positives"]) == 23 and ap["Anger"] is None
    # micro F1: 5 true labels, 4 predicted, 3 correct -> 2*3 / (5 + 4)
    assert metrics["micro_f1"] == pytest.approx(2 / 3)
    assert (metrics["vad_mae"], metrics["vad_n"]) == (None, 0)


def test_ranking_scores_replace_one_hot_and_ties_share_a_threshold():
    references = _refs(["Happiness"], ["Peace"], ["Happiness"], ["Peace"])
    ranking = [
        {"Happiness": 0.9, "Peace": 0.1},
        {"Happiness": 0.5, "Peace": 0.8},
        {"Happiness": 0.5, "Peace": 0.3},
        {"Happiness": 0.1, "Peace": 0.2},
    ]
    # text answers say otherwise; AP must come from the ranking scores
    predictions = [_pred(["Peace"]), _pred(["Happiness"]), _pred(["Peace"]), _pred(["Happiness"])]
    metrics = TASK.score(references, predictions, ranking, OPTIONS)
    # Happiness: 0.9 (pos) -> P 1, R .5; the tie at 0.5 (one neg, one pos) enters at once -> P 2/3, R 1
    # AP = .5*1 + .5*2/3 = 5/6
    assert metrics["per_class_ap"]["Happiness"] == pytest.approx(5 / 6)
    # Peace: 0.8 (pos) P 1 R .5; 0.3 (neg) P .5; 0.2 (pos) P 2/3 R 1 -> AP = .5 + .5*2/3 = 5/6
    assert metrics["per_class_ap"]["Peace"] == pytest.approx(5 / 6)
    assert metrics["mean_ap"] == pytest.approx(5 / 6)
    assert metrics["ap_from_class_scores"] == 4
    assert metrics["micro_f1"] == 0.0  # the parsed text answers are all wrong


def test_all_unparseable_predictions():
    references = _refs(["Happiness"], ["Peace"], ["Happiness"])
    metrics = TASK.score(references, [None, None, None], [None, None, None], OPTIONS)
    # all scores 0: AP equals the share of positives -> Happiness 2/3, Peace 1/3
    assert metrics["per_class_ap"]["Happiness"] == pytest.approx(2 / 3)
    assert metrics["per_class_ap"]["Peace"] == pytest.approx(1 / 3)
    assert metrics["mean_ap"] == pytest.approx(0.5)
    assert metrics["micro_f1"] == 0.0


def test_vad_error_uses_persons_with_both_ratings():
    references = _refs(["Pain"], ["Pain"], ["Pain"], vads=[
        {"valence": 6, "arousal": 4, "dominance": 7},
        {"valence": 5.5, "arousal": 4.25, "dominance": 6},
        None,  # NaN in the release: excluded even though the answer has ratings
    ])
    predictions = [
        _pred(["Pain"], {"valence": 7, "arousal": 4, "dominance": 5}),  # errors 1, 0, 2
        _pred(["Pain"], {"valence": 5.5, "arousal": 5.25, "dominance": 6}),  # errors 0, 1, 0
        _pred(["Pain"], {"valence": 1, "arousal": 1, "dominance": 1}),
    ]
    metrics = TASK.score(references, predictions, [None] * 3, OPTIONS)
    assert metrics["vad_n"] == 2
    assert metrics["vad_mae"] == pytest.approx({"valence": 0.5, "arousal": 0.5, "dominance": 1.0, "mean": 2 / 3})

"""Each answer-space kind carries its own behaviour: ranking flags, the per-class view, point errors,
truth from a record and prediction from an answer; tasks score through it, and no module outside
tasks/answer_space.py switches on the kinds."""
import re
from dataclasses import replace
from pathlib import Path

import pytest

import socialfusion_plugin
from socialfusion_plugin.evaluation.report import single_label_pairs
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks import answer_space
from socialfusion_plugin.tasks.answer_space import KINDS, AnswerSpace, MultiLabel, Point, PointOrOutside, SingleLabel
from toy_task import make_task

OUTSIDE = PointOrOutside(point="p", inside="seen", predicted="point", predicted_inside="seen")


@pytest.mark.parametrize("space, complete, label_subset, keeps_generated_text", [
    (SingleLabel(labels=("a", "b")), True, False, False),
    (MultiLabel(labels=("a", "b")), False, True, False),
    (OUTSIDE, False, False, True),
    (Point(), False, False, False),
])
def test_each_kind_says_how_ranking_reads_its_options(space, complete, label_subset, keeps_generated_text):
    assert (space.rank_complete, space.rank_label_subset, space.rank_keeps_generated_text) == (
        complete, label_subset, keeps_generated_text)


def test_a_single_label_decides_by_ranking_scores_else_by_the_parsed_answer():
    space = SingleLabel(labels=lambda options: options, truth="y", predicted="label")
    metas = [{"y": "a"}, {"y": "b"}, {"y": "b"}, {"y": "a"}]
    parsed = [{"label": "a"}, {"label": "z"}, None, {"label": "b"}]
    scores = [None, None, None, {"a": 0.5, "b": 0.5}]  # a tie goes to the earlier label
    assert space.class_decisions(["a", "b"], metas, parsed, scores) == (
        ["a", "b"], [("a", "a"), ("b", "z"), ("b", None), ("a", "a")])
    assert space.class_decisions(["a", "b"], [], [], []) is None


def test_an_in_out_answer_decides_inside_or_outside():
    metas = [{"seen": True}, {"seen": False}, {"seen": False}]
    parsed = [{"seen": True}, {"seen": True}, "not a mapping"]
    scores = [None, {"inside": 0.1, "outside": 0.9}, None]
    assert OUTSIDE.class_decisions(None, metas, parsed, scores) == (
        ["inside", "outside"], [("inside", "inside"), ("outside", "outside"), ("outside", None)])


def test_only_a_multi_label_answer_gives_label_sets():
    space = MultiLabel(labels=("a", "b"), truth="ys", predicted="labels")
    assert space.label_sets([{"ys": ("a", "b")}, {}], [{"labels": ("b",)}, {"labels": "b"}]) == (
        [["a", "b"], []], [["b"], None])
    assert space.label_sets([], []) is None
    assert space.class_decisions(None, [{"ys": ["a"]}], [None], [None]) is None
    for other in (SingleLabel(labels=("a",)), Point(), OUTSIDE):
        assert other.label_sets([{}], [None]) is None


def test_point_answers_measure_their_distance_to_the_true_point():
    point = Point(truth="p")
    metas = [{"p": [0.0, 0.0]}, {"p": None}, {"p": [1.0, 1.0]}]
    assert point.point_errors(metas, [(0.3, 0.4), (0.5, 0.5), None]) == (pytest.approx([0.5]), 1)
    assert point.truth_point({"p": [1, 0]}) == (1.0, 0.0) and point.truth_point({"p": None}) is None
    metas = [{"seen": True, "p": [0.5, 0.5]}, {"seen": False, "p": [0.5, 0.5]}, {"seen": True, "p": [0.1, 0.1]}]
    parsed = [{"seen": True, "point": [0.5, 0.75]}, {"seen": True, "point": [0.0, 0.0]}, {"seen": False}]
    assert OUTSIDE.point_errors(metas, parsed) == (pytest.approx([0.25]), 1)
    assert OUTSIDE.truth_point(metas[1]) is None and OUTSIDE.probe_target(metas[0]) == ("point", [0.5, 0.5])
    for labels in (SingleLabel(labels=("a",)), MultiLabel(labels=("a",))):
        assert labels.point_errors([{"p": [0.0, 0.0]}], [(0.0, 0.0)]) is None


def test_the_confusion_view_names_unparsed_answers_and_answers_outside_the_label_set():
    task = make_task()
    classes, pairs = single_label_pairs(task, None, [{"y": "a"}, {"y": "b"}], ["c", None], [None, None])
    assert classes == ["a", "b"] and pairs == [("a", "(other)"), ("b", "(unparsed)")]


def with_space(name, **changes):
    """A fresh instance of a built-in task whose answer space reads its truth from other places."""
    task = type(TASKS.get(name))()
    task.answer_space = replace(task.answer_space, **changes)
    return task


def test_gesture_and_relation_score_the_truth_their_answer_space_reads():
    gesture = with_space("gesture", truth="gesture")
    metas = [{"gesture": "like", "label": "fist"}, {"gesture": "fist", "label": "like"}]
    result = gesture.score(metas, ["like", "fist"], [None, None], gesture.options())
    assert result["accuracy"] == 1.0 and result["num_classes"] == 34
    relation = with_space("relation", truth=lambda meta: meta["pair"]["relation"])
    metas = [{"granularity": "coarse", "pair": {"relation": "intimate"}, "label": "no relation"}]
    result = relation.score(metas, ["family"], [None], relation.options())  # family is an intimate relation
    assert result["accuracy"] == 1.0 and result["per_class_recall"]["intimate"] == 1.0


def test_gesture_scores_over_the_label_sets_its_answer_space_declares():
    gesture = with_space("gesture", labels=lambda options: ("like", "fist") + ("no_gesture",) * options.keep_no_gesture)
    metas = [{"label": label, "no_gesture_in_label_set": True} for label in ("like", "no_gesture")]
    result = gesture.score(metas, ["like", "like"], [None, None], gesture.options())
    assert list(result["per_class_recall"]) == ["like", "fist", "no_gesture"] and result["num_classes"] == 3
    assert list(result["without_no_gesture"]["per_class_recall"]) == ["like", "fist"]
    with pytest.raises(ValueError, match="gesture reference 0 has no known 'label'"):
        gesture.score([{"label": "palm"}], ["palm"], [None], gesture.options())


def test_emotion_and_gaze_video_score_the_truth_their_answer_space_reads():
    emotion = with_space("emotion", truth="annotated", predicted="named")
    result = emotion.score([{"annotated": ["Peace"], "categories": ["Anger"]}], [{"named": ["Peace"]}], [None],
                           emotion.options())
    assert result["per_class_ap"]["Peace"] == 1.0 and result["micro_f1"] == 1.0
    video = with_space("gaze_video", point="target", inside="visible")
    metas = [{"visible": True, "target": [0.5, 0.5], "in_frame": False},
             {"visible": False, "target": None, "in_frame": True, "gaze": [0.1, 0.1]}]
    result = video.score(metas, [{"in_frame": True, "point": [0.5, 0.75]}, {"in_frame": False}], [None, None],
                         video.options())
    assert (result["frames_in_frame"], result["l2"], result["inout_ap"]) == (1, pytest.approx(0.25), 1.0)


KIND_NAMES = sorted({cls.__name__ for kind in KINDS for cls in kind.__mro__ if issubclass(cls, AnswerSpace)})
ISINSTANCE = re.compile(r"isinstance\((?:[^()]|\([^()]*\))*\)")  # a tuple of classes may sit inside
KIND = re.compile(r"\b(?:" + "|".join(KIND_NAMES) + r")\b")
# Registration may check that a task declared an answer space at all, which is no switch between kinds.
REGISTRATION_CHECK = ("tasks/base.py", {"AnswerSpace"})


def kind_switches(where, text):
    """(where:line: call) of each isinstance call in `text` that names an answer-space class."""
    found = []
    for match in ISINSTANCE.finditer(text):
        named = set(KIND.findall(match.group(0)))
        if named and (where, named) != REGISTRATION_CHECK:
            found.append(f"{where}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}")
    return found


def test_the_search_sees_a_switch_on_a_kind_written_any_way():
    text = "if isinstance(space, (Point, PointOrOutside)):\n    pass\nok = isinstance(\n    space, MultiLabel)\n"
    assert kind_switches("evaluation/x.py", text) == [
        "evaluation/x.py:1: isinstance(space, (Point, PointOrOutside))",
        "evaluation/x.py:3: isinstance(\n    space, MultiLabel)"]
    assert kind_switches("evaluation/x.py", "isinstance(point, Points3D)") == []
    assert kind_switches("tasks/base.py", "isinstance(space, AnswerSpace)") == []
    assert kind_switches("tasks/base.py", "isinstance(space, SingleLabel)") != []


def test_no_module_outside_the_answer_space_switches_on_its_kinds():
    package = Path(socialfusion_plugin.__file__).parent
    switches = []
    for path in sorted(package.rglob("*.py")):
        if not path.samefile(answer_space.__file__):
            switches += kind_switches(path.relative_to(package).as_posix(), path.read_text(encoding="utf-8"))
    assert not switches, "ask the answer space instead of switching on its kind:\n" + "\n".join(switches)

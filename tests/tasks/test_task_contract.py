"""Registration checks a task's declarations, and ranking, charts and probe targets follow from its
answer space alone (no consumer names a task)."""
import json

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.evaluation.report import multi_label_sets, single_label_pairs
from socialfusion_plugin.evaluation.rank_policy import rank_policy
from socialfusion_plugin.registry import TASKS, Registry
from socialfusion_plugin.tasks.answer_space import MultiLabel, Point, PointOrOutside, SingleLabel
from socialfusion_plugin.tasks.base import TaskContractError, check_task
from toy_task import make_task


@pytest.fixture
def tasks():
    return Registry("task", check=check_task)


def test_a_complete_task_registers(tasks):
    tasks.register("toy", make_task())
    assert tasks.names() == ["toy"]


@pytest.mark.parametrize("attributes, message", [
    ({"answer_space": None}, r"task 'toy' \(.*ToyTask\) is refused: no answer_space \(set answer_space = one of "
                             r"SingleLabel\(...\), MultiLabel\(...\), Point\(...\), PointOrOutside\(...\)"),
    ({"answer_space": "single"}, r"answer_space 'single' is not one of SingleLabel"),
    ({"primary_metric": ""}, r"no primary_metric \(one of metric_names: accuracy\)"),
    ({"primary_metric": "f1"}, r"primary_metric 'f1' is not one of metric_names \(accuracy\)"),
    ({"higher_is_better": "yes"}, r"higher_is_better must be True or False"),
    ({"answer_space": SingleLabel(labels=())}, r"empty label set"),
    ({"answer_space": SingleLabel(labels=("a", "a"))}, r"lists a label twice"),
    ({"answer_space": SingleLabel(labels=lambda options: options.missing)}, r"labels fail under the default options"),
    ({"closed_set": True}, r"it sets closed_set, which answer_space replaces"),
    ({"label_names": lambda self, options: ["a"]}, r"it overrides label_names, which come from answer_space"),
])
def test_registration_refuses_a_task_naming_what_is_missing(tasks, attributes, message):
    with pytest.raises(TaskContractError, match=message):
        tasks.register("toy", make_task(**attributes))
    assert "toy" not in tasks


def test_every_problem_is_named_at_once_and_the_registered_name_must_match(tasks):
    with pytest.raises(TaskContractError) as caught:
        tasks.register("other", make_task(answer_space=None, primary_metric=""))
    text = str(caught.value)
    assert "name attribute is 'toy'" in text and "no answer_space" in text and "no primary_metric" in text


def test_the_task_registry_itself_checks():
    with pytest.raises(TaskContractError, match="no primary_metric"):
        TASKS.register("toy", make_task(primary_metric=""))
    assert "toy" not in TASKS


def test_rank_policy_follows_the_answer_space():
    single = rank_policy(make_task(), None)
    assert (single.options, single.complete, single.multi_label, single.text_from_generation) == (
        {"a": "a", "b": "b"}, True, False, False)
    multi = rank_policy(make_task(answer_space=MultiLabel(labels=("a", "b"))), None)
    assert (multi.complete, multi.multi_label, multi.text_from_generation) == (False, True, False)
    outside = rank_policy(make_task(answer_space=PointOrOutside(outside_answer="gone", point_prefix="(")), None)
    assert outside.options == {"inside": "(", "outside": "gone"}
    assert (outside.complete, outside.multi_label, outside.text_from_generation) == (False, False, True)
    with pytest.raises(ValueError, match="task toy has no closed answer set"):
        rank_policy(make_task(answer_space=Point()), None)


def test_charts_and_probe_targets_follow_the_answer_space():
    single = make_task()
    metas = [{"y": "a"}, {"y": "b"}, {"y": "b"}]
    classes, pairs = single_label_pairs(single, None, metas, ["a", "a", None], [None, None, {"a": 0.2, "b": 0.8}])
    assert classes == ["a", "b"] and pairs == [("a", "a"), ("b", "a"), ("b", "b")]
    assert single.probe_target({"y": "b"}) == ("single", "b")

    multi = make_task(answer_space=MultiLabel(labels=("a", "b"), truth="ys", predicted="labels"))
    assert single_label_pairs(multi, None, [{"ys": ["a"]}], [None], [None]) is None
    assert multi_label_sets(multi, [{"ys": ["a", "b"]}], [{"labels": ["b"]}]) == ([["a", "b"]], [["b"]])
    assert multi.probe_target({"ys": ("a",)}) == ("multi", ["a"])

    space = PointOrOutside(point="p", inside="seen", predicted_inside="seen")
    outside = make_task(answer_space=space)
    classes, pairs = single_label_pairs(outside, None, [{"seen": True}, {"seen": False}, {"seen": True}],
                                        [{"seen": False}, None, None], [None, None, {"inside": 0.6, "outside": 0.4}])
    assert classes == ["inside", "outside"]
    assert pairs == [("inside", "outside"), ("outside", "(unparsed)"), ("inside", "inside")]
    assert outside.probe_target({"seen": True, "p": [0.5, 0.25]}) == ("point", [0.5, 0.25])
    assert outside.probe_target({"seen": False, "p": None}) is None
    assert space.predicted_point({"seen": True, "point": [0.5, 0.25]}) == (0.5, 0.25)
    assert space.predicted_point({"seen": False}) is None and space.predicted_point(None) is None

    point = make_task(answer_space=Point(truth="p"))
    assert single_label_pairs(point, None, [{"p": [0.1, 0.2]}], [None], [None]) is None
    assert multi_label_sets(point, [{"p": [0.1, 0.2]}], [None]) is None
    assert point.probe_target({"p": [0.1, 0.2]}) == ("point", [0.1, 0.2])
    assert point.answer_space.predicted_point((0.3, 0.4)) == (0.3, 0.4)
    assert point.answer_space.predicted_point("(0.3, 0.4)") is None


def test_tasks_command_shows_each_answer_space_and_primary_metric(capsys):
    assert main(["tasks", "--json"]) == 0
    described = {info["name"]: info for info in json.loads(capsys.readouterr().out)}
    kinds = {name: described[name]["answer"]["kind"] for name in ("gesture", "relation", "gaze", "gaze_video", "emotion")}
    assert kinds == {"gesture": "single_label", "relation": "single_label", "gaze": "point",
                     "gaze_video": "point_or_outside", "emotion": "multi_label"}
    assert described["emotion"]["answer"]["extras"] == ["vad"]
    assert (described["relation"]["primary_metric"], described["relation"]["higher_is_better"]) == ("mean_ap", True)
    assert main(["tasks"]) == 0
    assert "  answer:  multi_label (extras: vad)" in capsys.readouterr().out

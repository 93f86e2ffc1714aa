"""Primary metrics, probe targets, regions and ranking options that evaluation and analysis use."""
import pytest

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.geometry import union_box

BUILTIN = ("gesture", "relation", "gaze", "gaze_video", "emotion")


@pytest.mark.parametrize("name", BUILTIN)
def test_primary_metric_is_one_of_the_task_metrics(name):
    task = TASKS.get(name)
    assert task.primary_metric in task.metric_names


def test_union_box():
    assert union_box([[0.1, 0.2, 0.3, 0.4], [0.2, 0.1, 0.5, 0.3]]) == [0.1, 0.1, 0.5, 0.4]
    assert union_box([]) is None and union_box(None) is None


def test_regions_and_probe_targets_read_the_record_meta():
    gesture, relation = TASKS.get("gesture"), TASKS.get("relation")
    gaze, video, emotion = TASKS.get("gaze"), TASKS.get("gaze_video"), TASKS.get("emotion")
    assert gesture.region_box({"hand_boxes": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.6, 0.5]]}) == [0.1, 0.1, 0.6, 0.5]
    assert gesture.probe_target({"label": "like"}) == ("single", "like")
    assert relation.region_box({"boxes": [[0.0, 0.1, 0.2, 0.9], [0.5, 0.0, 1.0, 0.8]]}) == [0.0, 0.0, 1.0, 0.9]
    assert gaze.probe_target({"gaze_points": [[0.2, 0.4], [0.4, 0.6]]}) == ("point", pytest.approx([0.3, 0.5]))
    assert gaze.region_box({"head_box": [0.1, 0.1, 0.2, 0.2]}) == [0.1, 0.1, 0.2, 0.2]
    assert video.probe_target({"in_frame": False, "gaze": None}) is None
    assert video.probe_target({"in_frame": True, "gaze": [0.5, 0.25]}) == ("point", [0.5, 0.25])
    assert emotion.probe_target({"categories": ["Peace", "Happiness"]}) == ("multi", ["Peace", "Happiness"])


def test_rank_options_cover_the_closed_label_sets():
    gesture = TASKS.get("gesture")
    options = gesture.rank_options(gesture.options())
    assert len(options) == 34 and options["like"] == "like"
    assert TASKS.get("gaze").rank_options(TASKS.get("gaze").options()) is None

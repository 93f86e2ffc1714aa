"""Every chart of the plotting package, built from small synthetic values: its title, axis labels,
legend or colorbar, cell values and "n/a" marks are read back from the matplotlib Figure; saving
writes a PNG and a PDF copy, byte-identical on a rerun."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from socialfusion_plugin import plots
from socialfusion_plugin.registry import TASKS


def texts(ax):
    return [t.get_text() for t in ax.texts]


def suptitle(figure) -> str:
    if hasattr(figure, "get_suptitle"):  # matplotlib >= 3.8
        return figure.get_suptitle()
    return figure._suptitle.get_text() if figure._suptitle is not None else ""


def colorbar_labels(figure):
    return [ax.get_ylabel() for ax in figure.axes if ax.get_label() == "<colorbar>"]


def saved_twice_identical(build, path: Path):
    """Save a figure, build it again (a rerun) and save it again: same bytes (no dates inside)."""
    first = plots.save_figure(build(), path)
    assert [p.suffix for p in first] == [".png", ".pdf"] and all(p.is_file() for p in first)
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and first[1].read_bytes()[:5] == b"%PDF-"
    before = [p.read_bytes() for p in first]
    plots.save_figure(build(), path)
    assert [p.read_bytes() for p in first] == before


def test_heatmap_has_cell_values_na_and_a_colorbar(tmp_path):
    values = np.array([[0.5, np.nan], [0.25, 0.875]])
    build = lambda: plots.heatmap(values, ["clip L-2", "clip L-1"], ["gesture\nf1_micro", "gaze\nauc"], "probe",  # noqa
                                  "test metric", xlabel="task", ylabel="encoder")
    figure = build()
    ax = figure.axes[0]
    assert ax.get_title() == "probe" and (ax.get_xlabel(), ax.get_ylabel()) == ("task", "encoder")
    assert sorted(texts(ax)) == ["0.25", "0.50", "0.88", "n/a"]
    assert colorbar_labels(figure) == ["test metric"]
    image = ax.images[0]
    assert image.get_clim() == (0.0, 1.0)  # metrics in [0, 1]: one fixed scale, never a single colour
    assert len({tuple(image.cmap(image.norm(v))) for v in (0.25, 0.5, 0.875)}) == 3
    saved_twice_identical(build, tmp_path / "heatmap.png")


def test_a_one_row_heatmap_still_shows_differences():
    figure = plots.heatmap(np.array([[0.2, 0.9]]), ["one encoder"], ["a", "b"], "t", "metric")
    image = figure.axes[0].images[0]
    assert image.cmap(image.norm(0.2)) != image.cmap(image.norm(0.9))


def test_heatmap_panels_share_one_colorbar_and_rows_are_named_once():
    panels = [("all", np.array([[1.0, -0.5], [-0.5, 1.0]])), ("lora", np.array([[1.0, np.nan], [np.nan, 1.0]]))]
    figure = plots.heatmap_panels(panels, ["gesture", "gaze"], "gradient cosine: run/checkpoint-500", "cosine", (-1, 1))
    first, second = figure.axes[0], figure.axes[1]
    assert (first.get_title(), second.get_title()) == ("all", "lora")
    assert suptitle(figure) == "gradient cosine: run/checkpoint-500"
    assert [t.get_text() for t in first.get_yticklabels()] == ["gesture", "gaze"]
    assert texts(second).count("n/a") == 2 and "-0.50" in texts(first)
    assert colorbar_labels(figure) == ["cosine"]


def test_per_class_bars_show_support_values_and_na_even_when_all_zero(tmp_path):
    build = lambda: plots.per_class_bars(["like", "peace", "stop"], [0.0, None, 0.0], [3, 0, 2], "recall",  # noqa
                                         "gesture: recall")
    figure = build()
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["like (n=3)", "peace (n=0)", "stop (n=2)"]
    assert texts(ax) == ["0.00", "n/a", "0.00"]  # an all-zero chart is written, not an empty frame
    assert ax.get_xlabel() == "recall" and ax.get_title() == "gesture: recall"
    saved_twice_identical(build, tmp_path / "bars.png")


def test_signed_change_bars_write_na_for_an_undefined_change():
    figure = plots.signed_change_bars(["gesture", "gaze"], [0.125, None], "joint vs single", "change, %",
                                      notes=["f1_micro ↑", "auc ↑"])
    ax = figure.axes[0]
    assert texts(ax) == ["+12.5%", "n/a"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["gesture\nf1_micro ↑", "gaze\nauc ↑"]
    assert ax.get_ylabel() == "change, %" and ax.get_title() == "joint vs single"


def test_confusion_chart_counts_support_and_colorbar():
    figure = plots.confusion_chart([[3, 1, 0], [0, 2, 1]], ["a", "b"], ["a", "b", "(unparsed)"], "relation: confusion")
    ax = figure.axes[0]
    assert texts(ax) == ["3", "1", "0", "0", "2", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (n=4)", "b (n=3)"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true (support)")
    assert colorbar_labels(figure) == ["share of the true class"]


def test_line_panels_integer_ticks_and_distinguishable_overlapping_series(tmp_path):
    same = [(-2, 0.5), (-1, 0.6), (4, 0.7)]
    build = lambda: plots.line_panels({"gesture (f1_micro)": {"clip mean": same, "clip cls": list(same)}},  # noqa
                                      "layer", "test metric", "probe metric by layer")
    figure = build()
    ax = figure.axes[0]
    assert list(ax.get_xticks()) == [-2, -1, 4]
    first, second = ax.get_lines()
    assert first.get_marker() != second.get_marker() and first.get_linestyle() != second.get_linestyle()
    assert not np.allclose(first.get_xdata(), second.get_xdata())  # a series exactly on another stays visible
    assert np.allclose(first.get_ydata(), second.get_ydata())  # values themselves are untouched
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["clip cls", "clip mean"]
    assert (ax.get_xlabel(), ax.get_ylabel(), suptitle(figure)) == ("layer", "test metric", "probe metric by layer")
    saved_twice_identical(build, tmp_path / "lines.png")


def test_error_distribution_counts_answers_without_a_point(tmp_path):
    build = lambda: plots.error_distribution([0.1, 0.2, 0.5], "gaze: distance error", "L2 distance",  # noqa
                                             without_value=2, value_range=(0.0, math.sqrt(2)))
    figure = build()
    hist_ax, cdf_ax = figure.axes
    assert hist_ax.get_xlabel() == cdf_ax.get_xlabel() == "L2 distance"
    assert "3 answers with a point, 2 no point given" in suptitle(figure)
    steps = cdf_ax.get_lines()[0]
    assert steps.get_ydata()[-1] == pytest.approx(3 / 5)  # the share counts answers without a point
    assert any(t.get_text().startswith("mean 0.267") for t in cdf_ax.get_legend().get_texts())
    saved_twice_identical(build, tmp_path / "errors.png")


def test_checkpoint_names_say_which_run():
    assert plots.checkpoint_name("/runs/sf-joint/checkpoint-500/") == "sf-joint/checkpoint-500"
    assert plots.checkpoint_name("/runs/sf-joint") == "sf-joint"
    assert plots.safe_file_part("sf-joint/checkpoint-500") == "sf-joint_checkpoint-500"


# ---- the report's charts derive from the task's declaration --------------------------------------

class Layout:
    def __init__(self, folder: Path):
        self.folder = folder

    def chart(self, task: str, kind: str) -> Path:
        return self.folder / f"{task}.{kind}.png"


def test_emotion_charts_its_scoring_metric_ap_not_recall(tmp_path):
    from socialfusion_plugin.evaluation.report import per_class_metric, task_charts

    emotion = TASKS.get("emotion")
    metrics = {"mean_ap": 0.5, "per_class_ap": {"Anger": 0.25, "Joy": None}}
    assert per_class_metric(emotion, metrics, {"Anger": 0.0, "Joy": 0.0}) == ("ap", metrics["per_class_ap"])
    names = task_charts(Layout(tmp_path), emotion, emotion.options({}), [{}, {}], [None, None], metrics, "sf/checkpoint-9",
                        None, {"Anger": 0.0, "Joy": 0.0}, [["Anger"], ["Anger", "Joy"]])
    assert names == ["emotion.ap.png"] and (tmp_path / "emotion.ap.pdf").is_file()
    assert not (tmp_path / "emotion.recall.png").exists()


def test_gesture_without_a_per_class_primary_metric_charts_recall():
    from socialfusion_plugin.evaluation.report import per_class_metric

    recall = {"like": 1.0}
    assert per_class_metric(TASKS.get("gesture"), {"f1_micro": 0.5, "per_class_recall": recall}, recall) == \
        ("recall", recall)


def test_gaze_gets_a_distance_error_chart(tmp_path):
    from socialfusion_plugin.evaluation.report import task_charts

    gaze = TASKS.get("gaze")
    metas = [{"gaze_points": [[0.5, 0.5], [0.7, 0.5]]}, {"gaze_points": [[0.1, 0.1]]}, {"gaze_points": [[0.2, 0.2]]}]
    parsed = [(0.6, 0.9), None, (0.2, 0.2)]
    distances, without = gaze.answer_space.point_errors(metas, parsed)
    assert distances == pytest.approx([0.4, 0.0]) and without == 1
    names = task_charts(Layout(tmp_path), gaze, gaze.options({}), metas, parsed, {"auc": 0.5}, "sf", None, None, None)
    assert names == ["gaze.error.png"] and (tmp_path / "gaze.error.pdf").is_file()
    video = TASKS.get("gaze_video")
    video_metas = [{"gaze": [0.5, 0.5], "in_frame": True}, {"gaze": None, "in_frame": False}]
    video_parsed = [{"in_frame": True, "point": [0.5, 0.75]}, {"in_frame": False}]
    assert video.answer_space.point_errors(video_metas, video_parsed) == (pytest.approx([0.25]), 0)
    assert TASKS.get("relation").answer_space.point_errors(metas, parsed) is None


def test_error_distribution_without_any_point_says_so():
    figure = plots.error_distribution([], "gaze_video: distance error", "L2 distance", without_value=4)
    assert all("n/a: no answer gave a point" in texts(ax) for ax in figure.axes)
    assert "0 answers with a point, 4 no point given" in suptitle(figure)

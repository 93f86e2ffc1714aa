"""The chart of values with intervals (`compare`), and the reason an undefined transfer bar shows:
a side without parseable answers is written as such, never drawn as its floor value."""
from socialfusion_plugin import plots


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_interval_panels_draw_value_and_interval_or_the_note():
    figure = plots.interval_panels(
        [("gaze: auc ↑ (n=24)", [("joint", 0.456, 0.40, 0.51, None), ("single", 0.0, 0.0, 0.0, "no parseable answers (24/24)"),
                                 ("chance", 0.66, 0.60, 0.70, None)]),
         ("gesture: f1_micro ↑ (n=40)", [("joint", 0.95, 0.9, 1.0, None)])], "value with its 95% interval")
    gaze, gesture = figure.axes[:2]
    assert texts(gaze) == ["0.456", "no parseable answers (24/24)", "0.660"]
    assert [t.get_text() for t in gaze.get_yticklabels()] == ["joint", "single", "chance"]
    drawn = [line.get_xdata().tolist() for line in gaze.get_lines() if len(line.get_xdata()) == 2]
    assert drawn == [[0.40, 0.51], [0.60, 0.70]]  # no interval for the side without parseable answers
    assert gaze.get_title() == "gaze: auc ↑ (n=24)" and texts(gesture) == ["0.950"]


def test_signed_change_bars_say_why_a_change_is_undefined():
    figure = plots.signed_change_bars(["gesture", "gaze"], [0.125, None], "joint vs single", "change, %",
                                      undefined_notes=[None, "no parseable answers (24/24)\nfrom single"])
    assert texts(figure.axes[0]) == ["+12.5%", "no parseable answers (24/24)\nfrom single"]

"""tasks/geometry.py: the one place that decides whether a box can be a record and how it is shown."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from socialfusion_plugin.tasks import geometry
from socialfusion_plugin.tasks.geometry import INVERTED, NON_FINITE, OUT_OF_RANGE, OUTSIDE, ZERO_AREA, InvalidBox

TASKS_DIR = Path(geometry.__file__).parent


@pytest.mark.parametrize("box, kind", [
    ([0, 0, 0, 0], ZERO_AREA),
    ([1, 1, 1, 1], OUTSIDE),  # x + w = 2: nothing left once clamped
    ([0.5, 0.5, -0.2, -0.2], INVERTED),
    ([0.5, 0.5, 0.00001, 0.2], ZERO_AREA),  # has an area, but not at the 4 decimals a record keeps
    ([-2, 0, 1, 0.5], OUTSIDE),
    ([0.1, 0.1, math.inf, 0.2], NON_FINITE),
    ([0.1, math.nan, 0.2, 0.2], NON_FINITE),
    ([0.1, 0.1, 10 ** 400, 0.2], NON_FINITE),  # float() would raise OverflowError
])
def test_invalid_xywh_boxes(box, kind):
    with pytest.raises(InvalidBox) as caught:
        geometry.xywh_box(box, digits=4)
    assert caught.value.kind == kind and str(caught.value).startswith(kind)


@pytest.mark.parametrize("box, kind", [
    ([20, 5, 20, 45], ZERO_AREA),
    ([200, 0, 300, 50], OUTSIDE),
    ([-50, -50, -10, -10], OUTSIDE),
    ([10, 5, math.inf, 45], NON_FINITE),
    ([10, 5, 10 ** 400, 45], NON_FINITE),
    ([10, 5, "40", 45], NON_FINITE),
    ([10, 5, 40], NON_FINITE),
])
def test_invalid_pixel_boxes(box, kind):
    with pytest.raises(InvalidBox) as caught:
        geometry.pixel_box(box, 100.0, 50.0, digits=4)
    assert caught.value.kind == kind


def test_pixel_box_clamps_a_little_past_the_border_and_refuses_the_rest():
    # past the border within half the image: clamped (the releases document it)
    assert geometry.pixel_box([90, -10, 120, 25], 100.0, 50.0, digits=4) == [0.9, 0.0, 1.0, 0.5]
    assert geometry.pixel_box([-50, -25, 150, 75], 100.0, 50.0, digits=4) == [0.0, 0.0, 1.0, 1.0]
    # inverted corners: refused in every format, never swapped (nothing says which corner is wrong)
    with pytest.raises(InvalidBox, match=INVERTED):
        geometry.pixel_box([40, 45, 10, 5], 100.0, 50.0, digits=4)
    # a corner far outside is damage, not the whole image
    for box in ([-1e308, -1e308, 1e308, 1e308], [10, 5, 151, 45], [-51, 5, 40, 45]):
        with pytest.raises(InvalidBox) as caught:
            geometry.pixel_box(box, 100.0, 50.0, digits=4)
        assert caught.value.kind == OUT_OF_RANGE, box
    with pytest.raises(InvalidBox) as caught:
        geometry.xywh_box([-0.6, 0.1, 0.9, 0.2], digits=4)  # x = -0.6: past the margin
    assert caught.value.kind == OUT_OF_RANGE


def test_points_are_clamped_only_at_the_border():
    assert geometry.image_point([-0.6, 16.4], 32, 16) == [0.0, 1.0]  # pixels, within 5% of the frame
    assert geometry.image_point([1.02, -0.01]) == [1.0, 0.0]  # normalized
    assert geometry.image_point([0.25, 0.5]) == [0.25, 0.5]
    for point, kind in (([-5, 99], OUT_OF_RANGE), ([1e308, 0.5], OUT_OF_RANGE), ([1.06, 0.5], OUT_OF_RANGE),
                        ([math.nan, 0.5], NON_FINITE), ([0.5], NON_FINITE)):
        with pytest.raises(geometry.InvalidPoint) as caught:
            geometry.image_point(point)
        assert caught.value.kind == kind, point


def test_csv_numbers_are_plain_decimals_and_codes_exact():
    assert geometry.finite_floats([" 1.5", "-2", ".5", "3e2", "7."]) == [1.5, -2.0, 0.5, 300.0, 7.0]
    # float() reads all of these; no release writes them
    for text in ("1_000", "nan", "Infinity", "0x10", "\u0661", "", "1 2", "+-1"):
        with pytest.raises(ValueError):
            geometry.finite_floats([text])
    codes = (1, 0, -1)
    assert [geometry.integer_code(t, codes) for t in ("1", " 0", "-1", "1.0", "1.9", "2", "1_000", "x")] == [
        1, 0, -1, 1, None, None, None, None]


def test_formatting_and_finite_numbers():
    assert geometry.format_box([0.123, -0.5, 1.5, 0.999]) == "[0.12, 0.00, 1.00, 1.00]"
    assert geometry.format_point([0.456, 1.2]) == "(0.46, 1.00)"
    assert [geometry.finite_number(v) for v in (3, 2.5, True, "1", math.inf, math.nan, 10 ** 400)] == [
        3.0, 2.5, None, None, None, None, None]
    for text in (["1", "inf"], ["nan"], ["1e999"], ["9" * 5000]):
        with pytest.raises(ValueError):
            geometry.finite_floats(text)


def test_one_copy_of_the_box_helpers():
    """format_box, clamping and box normalization live in geometry.py only."""
    pattern = re.compile(r"^def (format_box|format_point|_?clamp\w*|normali[sz]e\w*box\w*|_normalized_box|"
                         r"union_box|finite_floats)\(", re.MULTILINE)
    found = {path.relative_to(TASKS_DIR).as_posix(): pattern.findall(path.read_text(encoding="utf-8"))
             for path in TASKS_DIR.rglob("*.py")}
    assert {path: names for path, names in found.items() if names} == {
        "geometry.py": ["finite_floats", "clamp01", "format_box", "format_point", "union_box"],
    }


def test_valid_box_reads_a_record_box_and_names_what_is_wrong():
    from socialfusion_plugin.tasks.geometry import INVERTED, NON_FINITE, ZERO_AREA, InvalidBox, valid_box

    assert valid_box([0, 0.25, 1, 0.75]) == [0.0, 0.25, 1.0, 0.75]
    for box, kind in (([0.1, float("nan"), 0.3, 0.4], NON_FINITE), ([0.1, 0.2, 0.3], NON_FINITE),
                      (["0.1", 0.2, 0.3, 0.4], NON_FINITE), ([0.5, 0.2, 0.3, 0.4], INVERTED),
                      ([0.1, 0.2, 0.1, 0.4], ZERO_AREA)):
        with pytest.raises(InvalidBox) as caught:
            valid_box(box)
        assert caught.value.kind == kind


def test_pixel_crop_covers_the_touched_pixels_and_at_least_one():
    from socialfusion_plugin.tasks.geometry import pixel_crop

    assert pixel_crop([0.1, 0.2, 0.55, 0.9], 10, 10) == (1, 2, 6, 9)
    assert pixel_crop([0.5, 0.5, 0.5, 0.5], 10, 10) == (5, 5, 6, 6)
    assert pixel_crop([-0.2, 1.0, 1.3, 1.0], 10, 10) == (0, 9, 10, 10)

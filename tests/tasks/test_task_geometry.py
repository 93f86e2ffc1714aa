"""tasks/geometry.py: the one place that decides whether a box can be a record and how it is shown."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from socialfusion_plugin.tasks import geometry
from socialfusion_plugin.tasks.geometry import INVERTED, NON_FINITE, OUTSIDE, ZERO_AREA, InvalidBox

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


def test_pixel_box_repairs_what_releases_document():
    # corners in the wrong order are the same rectangle; past the border is clamped
    assert geometry.pixel_box([40, 45, 10, 5], 100.0, 50.0, digits=4) == [0.1, 0.1, 0.4, 0.9]
    assert geometry.pixel_box([90, -10, 120, 25], 100.0, 50.0, digits=4) == [0.9, 0.0, 1.0, 0.5]
    with pytest.raises(InvalidBox, match=INVERTED):
        geometry.pixel_box([40, 45, 10, 5], 100.0, 50.0, digits=4, order_corners=False)


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

"""Reading the GazeFollow (extended) release: headerless CSV, streamed row by row.

Train: one row = one person = one record. Test: one row per annotator (about 10); one person's
rows share path and eye point, so one record = one person = one consecutive run of rows with
the same (path, eye_x, eye_y). The released file lists a person's rows together; if a person's
key comes back after other rows, the file is not in that layout and reading stops with a
ValueError (grouping it silently would need the whole file in memory and would hide the damage).
"""
from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ...json_records import check_input_file, not_utf8_message
from ..base import Sample, Skip
from ..geometry import InvalidBox, clamp01, finite_floats, format_box, pixel_box, rounded
from ..paths import ImageIndex, safe_relative_path
from ..image_sizes import ImageSizeCache
from socialfusion_plugin.errors import UserInputError

ANNOTATION_FILES = {"train": "train_annotations_release.txt", "test": "test_annotations_release.txt"}

# Column positions shared by both files (train has inout at 14; source/meta follow and are unused).
PATH, EYE, GAZE, HEAD_BOX, INOUT = 0, slice(6, 8), slice(8, 10), slice(10, 14), 14
MIN_COLUMNS = {"train": 15, "test": 14}
IN_FRAME, OUT_OF_FRAME = 1, 0

Row = Tuple[int, List[str]]  # (line number, fields)


def annotation_path(root: Path, split: str) -> Path:
    return check_input_file(Path(root) / ANNOTATION_FILES[split], "GazeFollow annotation file",
                            hint="expected in the dataset root")


def iter_rows(path: Path) -> Iterator[Row]:
    """Non-empty CSV rows with their line numbers (utf-8-sig: some copies start with a BOM).
    A file that is not UTF-8, or a cell over csv's field size limit (128 KiB), stops the reading
    with a ValueError naming the file and line."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for fields in reader:
                if fields and any(f.strip() for f in fields):
                    yield reader.line_num, fields
        except csv.Error as err:
            raise UserInputError(f"{path}:{reader.line_num}: not readable as CSV ({err})") from None
        except UnicodeDecodeError:
            raise UserInputError(not_utf8_message(path)) from None


class _ImageLookup:
    """Existence and size of images under the root, with per-folder and per-image caches."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.index = ImageIndex(root)
        self.sizes = ImageSizeCache()

    def locate(self, raw_path: str, ref: str) -> Union[Tuple[str, Tuple[int, int]], Skip]:
        relative = safe_relative_path(self.root, raw_path, ref)  # escaping paths raise on purpose
        if not self.index.exists(relative):
            return Skip(ref, "image not found", detail=relative)
        size = self.sizes.size(self.root / relative, key=relative)
        if isinstance(size, str):
            return Skip(ref, "unreadable image", detail=f"{relative}: {size}")
        return relative, size


def _sample_id(relative: str, line: int) -> str:
    # the image path names the picture; the release line tells several people in it apart
    return f"{PurePosixPath(relative).with_suffix('')}/line{line}"


def read_train(root: Path) -> Iterator[Union[Sample, Skip]]:
    path = annotation_path(root, "train")
    images = _ImageLookup(root)
    for line, fields in iter_rows(path):
        ref = f"{path.name}:{line}"
        if len(fields) < MIN_COLUMNS["train"]:
            yield Skip(ref, "too few columns", detail=f"{len(fields)} columns, expected 17")
            continue
        try:
            eye = finite_floats(fields[EYE])
            gaze = finite_floats(fields[GAZE])
            box_pixels = finite_floats(fields[HEAD_BOX])
            inout = int(finite_floats([fields[INOUT]])[0])  # "inf" or "1e999": a skip, not an OverflowError
        except ValueError:
            yield Skip(ref, "malformed row", detail=",".join(fields[:INOUT + 1]))
            continue
        # refuse an escaping path whatever else is wrong with the row
        safe_relative_path(images.root, fields[PATH], ref)
        if inout == OUT_OF_FRAME:
            # no valid gaze point: the point-regression task has nothing to learn from the row
            yield Skip(ref, "gaze target out of frame")
            continue
        if inout != IN_FRAME:
            yield Skip(ref, "invalid inout", detail=fields[INOUT].strip())
            continue
        located = images.locate(fields[PATH], ref)
        if isinstance(located, Skip):
            yield located
            continue
        relative, size = located
        yield _person_sample(ref, relative, size, line, eye, box_pixels, [gaze])


def read_test(root: Path) -> Iterator[Union[Sample, Skip]]:
    path = annotation_path(root, "test")
    images = _ImageLookup(root)
    finished: Dict[tuple, int] = {}  # person key -> first line, to detect a key coming back
    run: List[Row] = []
    run_key: Optional[tuple] = None
    for line, fields in iter_rows(path):
        if len(fields) < MIN_COLUMNS["test"]:
            # cannot be attributed to a person: the row itself is the record
            yield Skip(f"{path.name}:{line}", "too few columns", detail=f"{len(fields)} columns, expected 16")
            continue
        key = _person_key(fields)
        if key != run_key:
            if run:
                finished[run_key] = run[0][0]
                yield _test_person(path.name, run, images)
            if key in finished:
                raise UserInputError(
                    f"{path}:{line}: rows of the person first seen at line {finished[key]} "
                    f"({fields[PATH].strip()}, eye {fields[6].strip()},{fields[7].strip()}) are not consecutive; "
                    "the test file must list each person's annotator rows together"
                )
            run, run_key = [], key
        run.append((line, fields))
    if run:
        yield _test_person(path.name, run, images)


def _person_key(fields: Sequence[str]) -> tuple:
    """(path, eye_x, eye_y); eye values compared as numbers when they are numbers."""
    eye = []
    for text in fields[EYE]:
        try:
            eye.append(float(text))
        except ValueError:
            eye.append(text.strip())
    return (fields[PATH].strip(), *eye)


def _test_person(file_name: str, run: List[Row], images: _ImageLookup) -> Union[Sample, Skip]:
    first_line, first = run[0]
    ref = f"{file_name}:{first_line}" + (f"-{run[-1][0]}" if len(run) > 1 else "")
    try:
        eye = finite_floats(first[EYE])
        box_pixels = finite_floats(first[HEAD_BOX])
    except ValueError:
        return Skip(ref, "malformed row", detail=",".join(first[:HEAD_BOX.stop]))
    points = []
    for _, fields in run:
        try:
            gaze = finite_floats(fields[GAZE])
        except ValueError:
            continue  # one annotator's unreadable point; the others still define the person
        if gaze[0] < 0 or gaze[1] < 0:
            continue  # -1 marks a missing annotation (the reference ignores it too)
        points.append(gaze)
    safe_relative_path(images.root, first[PATH], ref)  # refused even when the person is skipped
    if not points:
        return Skip(ref, "no valid gaze point")
    located = images.locate(first[PATH], ref)
    if isinstance(located, Skip):
        return located
    relative, size = located
    return _person_sample(ref, relative, size, first_line, eye, box_pixels, points)


def _person_sample(
    ref: str,
    relative: str,
    size: Tuple[int, int],
    line: int,
    eye: List[float],
    box_pixels: List[float],
    points: List[List[float]],
) -> Union[Sample, Skip]:
    width, height = size
    try:  # swapped corners are put back in order and the box is clamped to the image (the release's quirks)
        box = rounded(pixel_box(box_pixels, width, height, digits=6))
    except InvalidBox as err:
        return Skip(ref, "empty head box", detail=str(err))
    return Sample(
        id=_sample_id(relative, line),
        ref=ref,
        image=relative,
        prompt_fields={"box": format_box(box)},
        target={
            "gaze_points": [rounded([clamp01(x), clamp01(y)]) for x, y in points],
            "head_box": box,
            "eye": rounded([clamp01(eye[0]), clamp01(eye[1])]),
            "image_size": [width, height],
        },
    )

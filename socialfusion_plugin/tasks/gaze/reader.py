"""Reading the GazeFollow (extended) release: headerless CSV, streamed row by row.

Train: one row = one person = one record. Test: one row per annotator (about 10); one person's
rows share path and eye point, so one record = one person = one consecutive run of rows with
the same (path, eye_x, eye_y). The released file lists a person's rows together; if a person's
key comes back after other rows, the file is not in that layout and reading stops with a
ValueError (grouping it silently would need the whole file in memory and would hide the damage).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ...errors import UserInputError
from ...json_records import check_input_file
from ..base import Sample, Skip
from ..gaze_targets import csv_rows, head_box, head_sample
from ..geometry import InvalidBox, finite_floats, image_point, integer_code, rounded
from ..paths import ImageFiles, safe_relative_path

ANNOTATION_FILES = {"train": "train_annotations_release.txt", "test": "test_annotations_release.txt"}

# Column positions shared by both files (train has inout at 14; source/meta follow and are unused).
PATH, EYE, GAZE, HEAD_BOX, INOUT = 0, slice(6, 8), slice(8, 10), slice(10, 14), 14
MIN_COLUMNS = {"train": 15, "test": 14}
IN_FRAME, OUT_OF_FRAME, INVALID = 1, 0, -1
MISSING_POINT = -1.0  # a test annotator's gaze coordinate that marks no annotation

Row = Tuple[int, List[str]]  # (line number, fields)


def annotation_path(root: Path, split: str) -> Path:
    return check_input_file(Path(root) / ANNOTATION_FILES[split], "GazeFollow annotation file",
                            hint="expected in the dataset root")


def read_train(root: Path) -> Iterator[Union[Sample, Skip]]:
    path = annotation_path(root, "train")
    images = ImageFiles(root)
    for line, fields in csv_rows(path):
        ref = f"{path.name}:{line}"
        if len(fields) < MIN_COLUMNS["train"]:
            yield Skip(ref, "too few columns", detail=f"{len(fields)} columns, expected 17")
            continue
        try:
            eye = finite_floats(fields[EYE])
            gaze = finite_floats(fields[GAZE])
            box_pixels = finite_floats(fields[HEAD_BOX])
        except ValueError:
            yield Skip(ref, "malformed row", detail=",".join(fields[:INOUT + 1]))
            continue
        # refuse an escaping path whatever else is wrong with the row
        safe_relative_path(images.root, fields[PATH], ref)
        # exactly 1, 0 or -1 (or 1.0...): "1.9" is not 1, "1_000" is not a number
        inout = integer_code(fields[INOUT], (IN_FRAME, OUT_OF_FRAME, INVALID))
        if inout is None:
            yield Skip(ref, "malformed row", detail=f"inout {fields[INOUT].strip()[:40]!r} is not 1, 0 or -1")
            continue
        if inout == OUT_OF_FRAME:
            # no valid gaze point: the point-regression task has nothing to learn from the row
            yield Skip(ref, "gaze target out of frame")
            continue
        if inout != IN_FRAME:
            yield Skip(ref, "invalid inout", detail=fields[INOUT].strip())
            continue
        yield _person_sample(images, ref, fields[PATH], line, eye, box_pixels, [gaze])


def read_test(root: Path) -> Iterator[Union[Sample, Skip]]:
    path = annotation_path(root, "test")
    images = ImageFiles(root)
    finished: Dict[tuple, int] = {}  # person key -> first line, to detect a key coming back
    run: List[Row] = []
    run_key: Optional[tuple] = None
    for line, fields in csv_rows(path):
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


def _test_person(file_name: str, run: List[Row], images: ImageFiles) -> Union[Sample, Skip]:
    first_line, first = run[0]
    ref = f"{file_name}:{first_line}" + (f"-{run[-1][0]}" if len(run) > 1 else "")
    try:
        eye = finite_floats(first[EYE])
        box_pixels = finite_floats(first[HEAD_BOX])
    except ValueError:
        return Skip(ref, "malformed row", detail=",".join(first[:HEAD_BOX.stop]))
    points = []
    for line, fields in run:
        try:
            gaze = finite_floats(fields[GAZE])
        except ValueError:
            # an unreadable annotator point is damage: the person is a counted skip, not a person
            # silently scored against fewer annotators
            return Skip(ref, "malformed row", detail=f"line {line}: gaze {','.join(fields[GAZE])[:80]}")
        if MISSING_POINT in gaze:
            continue  # -1 marks a missing annotation (the reference ignores it too)
        points.append(gaze)
    safe_relative_path(images.root, first[PATH], ref)  # refused even when the person is skipped
    if not points:
        return Skip(ref, "no valid gaze point")
    return _person_sample(images, ref, first[PATH], first_line, eye, box_pixels, points)


def _person_sample(images: ImageFiles, ref: str, raw_path: str, line: int, eye: List[float],
                   box_pixels: List[float], points: List[List[float]]) -> Union[Sample, Skip]:
    relative = safe_relative_path(images.root, raw_path, ref)  # escaping paths raise on purpose
    size = images.check(relative, ref)  # the image's size, or the skip of an image missing or unreadable
    if isinstance(size, Skip):
        return size
    box = head_box(ref, box_pixels, size, "image")
    if isinstance(box, Skip):
        return box
    try:  # eye and gaze are normalized already: only a point just past the border is clamped
        eye_point = rounded(image_point(eye))
    except InvalidBox as err:
        return Skip(ref, "invalid eye point", detail=str(err))
    try:
        gaze_points = [rounded(image_point(point)) for point in points]
    except InvalidBox as err:
        return Skip(ref, "invalid gaze point", detail=str(err))
    # the image path names the picture; the release line tells several people in it apart
    return head_sample(f"{PurePosixPath(relative).with_suffix('')}/line{line}", ref, relative, box,
                       {"gaze_points": gaze_points, "head_box": box, "eye": eye_point, "image_size": list(size)})

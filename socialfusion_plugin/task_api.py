"""Everything a task package needs, in one import: `from socialfusion_plugin.task_api import ...`.

This module is the task API; the modules it re-exports from are the plugin's own and may move.
A task written against it (docs/adding-a-task.md) imports nothing else from the package.

Declaring and registering a task:
- `Task`: base class of a task; set the class attributes, implement read/format_answer/parse_answer/score.
- `Sample`: one converted example (id, image path relative to the root, prompt fields, target).
- `Skip`: a source record read but not converted, with a short stable reason (counted in the report).
- `Item`: what `Task.read` yields, a Sample or a Skip.
- `TaskOptions`: base dataclass of a task's options (fields with `metadata={"help": ...}`).
- `TaskOptionsError`: an unknown or invalid task option.
- `AnswerDataError`: a data file the answer parser reads (synonyms, lexicons) is missing or broken.
- `References`, `Predictions`, `ClassScores`: the types of `Task.score`'s three inputs.
- `TASKS`: the task registry; a task module ends with `TASKS.register("<name>", MyTask())`.
- `TaskContractError`: what registration raises for a task missing a declaration.
- `ENTRY_POINT_GROUP`: the entry point group an outside package announces its task modules in.

What a task answers (`Task.answer_space`):
- `AnswerSpace`: base of the four kinds below.
- `SingleLabel`: one label of a closed set.
- `MultiLabel`: any subset of a closed set.
- `Point`: a normalized (x, y) point in the image.
- `PointOrOutside`: a point, or a fixed answer saying the target is outside the frame.

Reading release files:
- `UserInputError`: raise it for damage that stops a split (the CLI prints it as one line).
- `check_input_file`: an annotation file as an existing file (FileNotFoundError naming it when missing).
- `InputFileError`: a file that cannot be read in its format.
- `not_utf8_message`: '<file>:<line>: not UTF-8 text ...' locating a file's first bad byte on its real line.
- `read_json`: a whole JSON file of one top-level shape, errors naming the file and line.
- `iter_json_list`: the records of a top-level JSON list, streamed.
- `iter_json_object`: the (key, value, line) entries of a top-level JSON object, streamed.
- `safe_relative_path`: an annotation's image path, normalized, refused when it leaves the root.
- `PathEscapeError`: what safe_relative_path raises.
- `ImageIndex`: whether an image exists under the root (one cached listing per folder).
- `ImageFiles`: whether an image exists and opens, and its (width, height): a Skip when not.
- `IMAGE_NOT_FOUND`, `UNREADABLE_IMAGE`: the reasons of ImageFiles' skips.

Numbers, boxes and points (normalized [x1, y1, x2, y2], origin top-left):
- `decimal_number`: a text field as a float, plain decimal numbers only.
- `finite_floats`: text fields as finite floats (ValueError otherwise).
- `finite_number`: a JSON or MATLAB number as a finite float, or None.
- `integer_code`: a code column ('1', '0', '-1') as one of the allowed integers, or None.
- `pixel_box`: a box in pixels of a width x height image -> normalized, clamped; InvalidBox if not a box.
- `xywh_box`: a normalized [x, y, w, h] -> normalized [x1, y1, x2, y2]; InvalidBox if not a box.
- `valid_box`: a normalized box read back from a record, checked.
- `image_point`: a point in pixels (or normalized) -> normalized, clamped; InvalidPoint if not a point.
- `InvalidBox`, `InvalidPoint`: a box or point that cannot be a record; `.kind` is the skip reason.
- `NON_FINITE`, `INVERTED`, `ZERO_AREA`, `OUTSIDE`, `OUT_OF_RANGE`: the values of `InvalidBox.kind`.
- `rounded`: values rounded to the decimals records store (6).
- `clamp01`: a value clamped to [0, 1].
- `union_box`: the smallest box holding the boxes given.
- `format_box`: a box as prompts show it, "[0.12, 0.30, 0.45, 0.88]".
- `format_point`: a point as answers show it, "(0.40, 0.52)".

Answers and metrics:
- `parse_point`: (x, y) from a model's answer text, or None.
- `SynonymParser`: a label from free text through a synonyms file (the longest phrase wins).
- `top_class`: the predicted class: the argmax of ranking scores when given, else the parsed answer.
- `label_matrix`: (n, C) 0/1 matrix of the reference labels.
- `score_matrix`: (n, C) scores: ranking scores where given, else one-hot of the parsed answer.
- `mean_average_precision`: mean AP over classes, leaving out (and listing) classes without positives.
"""
from __future__ import annotations

from .errors import UserInputError
from .json_records import InputFileError, check_input_file, iter_json_list, iter_json_object, not_utf8_message, read_json
from .registry import TASKS
from .tasks.answer_space import AnswerSpace, MultiLabel, Point, PointOrOutside, SingleLabel
from .tasks.base import (AnswerDataError, ClassScores, Item, Predictions, References, Sample, Skip, Task,
                         TaskContractError, TaskOptions, TaskOptionsError)
from .tasks.classification_metrics import label_matrix, mean_average_precision, score_matrix, top_class
from .tasks.geometry import (INVERTED, NON_FINITE, OUT_OF_RANGE, OUTSIDE, ZERO_AREA, InvalidBox, InvalidPoint, clamp01,
                             decimal_number, finite_floats, finite_number, format_box, format_point, image_point,
                             integer_code, pixel_box, rounded, union_box, valid_box, xywh_box)
from .tasks.paths import IMAGE_NOT_FOUND, UNREADABLE_IMAGE, ImageFiles, ImageIndex, PathEscapeError, safe_relative_path
from .tasks.phrase_matching import SynonymParser
from .tasks import ENTRY_POINT_GROUP
from .tasks.gaze_targets import parse_point

__all__ = [
    # declaring and registering a task
    "Task", "Sample", "Skip", "Item", "TaskOptions", "TaskOptionsError", "AnswerDataError",
    "References", "Predictions", "ClassScores", "TASKS", "TaskContractError", "ENTRY_POINT_GROUP",
    # what a task answers
    "AnswerSpace", "SingleLabel", "MultiLabel", "Point", "PointOrOutside",
    # reading release files
    "UserInputError", "check_input_file", "InputFileError", "not_utf8_message", "read_json", "iter_json_list",
    "iter_json_object", "safe_relative_path", "PathEscapeError", "ImageIndex", "ImageFiles", "IMAGE_NOT_FOUND",
    "UNREADABLE_IMAGE",
    # numbers, boxes and points
    "decimal_number", "finite_floats", "finite_number", "integer_code", "pixel_box", "xywh_box", "valid_box",
    "image_point", "InvalidBox", "InvalidPoint", "NON_FINITE", "INVERTED", "ZERO_AREA", "OUTSIDE", "OUT_OF_RANGE",
    "rounded", "clamp01", "union_box", "format_box", "format_point",
    # answers and metrics
    "parse_point", "SynonymParser", "top_class", "label_matrix", "score_matrix", "mean_average_precision",
]

"""What a probe reads for one task: converted train/test records, their images and probe targets.

The files are found in the package's data layout (data_layout.py) under `--data-root DIR`:
`DIR/converted/<task>_{train,test}.json` and the dataset root `DIR/<task>/` that record `image`
paths are relative to; `--train`, `--test` and `--image-folder` (TASK=...) override any of the three
per task. Records converted with --absolute-paths are used as they are. A relative image path that
would leave its image folder is refused; a missing image is an error naming the file and record.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type

from ..data_layout import DataLayout
from ..json_records import read_json_list
from ..tasks.geometry import NON_FINITE, InvalidBox, valid_box
from ..tasks.paths import safe_relative_path
from socialfusion_plugin.errors import UserInputError


class ProbeDataError(UserInputError):
    """Missing or malformed probe input; the message names the file and record."""


@dataclass(frozen=True)
class ImageItem:
    """One image (or image region) to encode. box: normalized [x1, y1, x2, y2] or None (whole image)."""

    path: Path
    box: Optional[Tuple[float, float, float, float]]


@dataclass
class ProbeSplit:
    file: Path
    records: List[Dict[str, Any]]  # the converted records that have a probe target (for scoring)
    targets: List[Tuple[str, Any]]  # Task.probe_target of each record
    items: List[ImageItem]  # what to encode for each record, under the chosen region mode
    skipped: Dict[str, int] = field(default_factory=dict)  # reason -> count
    full_image_fallbacks: int = 0  # region mode, but the task gives no box for the record


@dataclass(frozen=True)
class TaskFiles:
    train: Path
    test: Path
    image_folder: Path


def task_files(task: str, data_root: Optional[Path], overrides: Mapping[str, Mapping[str, Path]]) -> TaskFiles:
    """The three locations of a task, from --data-root and the per-task overrides."""
    def pick(kind: str, default_name: str) -> Path:
        if task in overrides.get(kind, {}):
            return Path(overrides[kind][task])
        if data_root is None:
            raise ProbeDataError(f"task {task}: no --data-root and no --{kind.replace('_', '-')} {task}=... given")
        return default_name

    layout = DataLayout(data_root) if data_root is not None else None
    return TaskFiles(train=pick("train", layout and layout.converted(task, "train")),
                     test=pick("test", layout and layout.converted(task, "test")),
                     image_folder=pick("image_folder", layout and layout.release(task)))


def load_split(task, path: Path, image_folder: Path, region: str, limit: Optional[int] = None, seed: int = 0) -> ProbeSplit:
    """Records of `task` in a converted file, with targets and image items; `limit` subsamples
    (seeded, order kept) AFTER records without a probe target are set aside."""
    records = read_json_list(path, "converted file", ProbeDataError, hint="make it with `socialfusion convert`")
    skipped: Counter = Counter()
    kept, targets = [], []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("meta"), dict):
            raise ProbeDataError(f"{path}: record {index} has no 'id' or no 'meta' object")
        if record["meta"].get("task") != task.name:
            skipped["other task"] += 1  # mixture files hold several tasks
            continue
        if "image" not in record:
            raise ProbeDataError(f"{path}: record {record['id']} has no image")
        target = task.probe_target(record["meta"])
        if target is None:
            skipped["no probe target"] += 1  # e.g. gaze_video frames whose target is out of frame
            continue
        kept.append(record)
        targets.append(target)
    if limit is not None and len(kept) > limit:
        chosen = sorted(random.Random(seed).sample(range(len(kept)), limit))
        skipped["not sampled (limit)"] += len(kept) - limit
        kept, targets = [kept[i] for i in chosen], [targets[i] for i in chosen]
    if not kept:
        raise ProbeDataError(f"{path}: no record of task {task.name!r} with a probe target")
    split = ProbeSplit(file=path, records=kept, targets=targets, items=[], skipped=dict(skipped))
    for record in kept:
        box = task.region_box(record["meta"]) if region == "region" else None
        if region == "region" and box is None:
            split.full_image_fallbacks += 1
        image = record_image(str(record["image"]), image_folder, f"{path}: record {record['id']}")
        split.items.append(ImageItem(path=image, box=_checked_box(box, path, record)))
    return split


def record_image(image: str, folder: Path, where: str, error: Type[Exception] = ProbeDataError) -> Path:
    """A record's `image` (`where` names the record) under `folder`; an absolute path is written by
    convert --absolute-paths: the user chose the location."""
    path = Path(image) if Path(image).is_absolute() else Path(folder) / safe_relative_path(folder, image, where)
    if not path.is_file():
        raise error(f"{where}: image {path} not found (image folder {folder})")
    return path


def _checked_box(box, path: Path, record: Mapping[str, Any]):
    if box is None:
        return None
    try:
        return tuple(valid_box(box if isinstance(box, (list, tuple)) else ()))
    except InvalidBox as err:
        if err.kind == NON_FINITE:
            raise ProbeDataError(f"{path}: record {record['id']}: region box {box!r} is not [x1, y1, x2, y2]") from None
        raise ProbeDataError(f"{path}: record {record['id']}: empty region box {box!r}") from None

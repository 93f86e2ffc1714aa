"""Seeded batches of converted LLaVA records per task, for the gradient-conflict diagnostic.

Task data is found like the probe's, in the data layout (data_layout.py): `--data-root DIR` holds
`converted/<task>_train.json` and the image folder `<task>/`; `--data TASK=FILE` and
`--image-folder TASK=DIR` override either. Names are labels here: any LLaVA record file works (a
registered task's file, or your own). When a record has `meta.task` and it is another task (mixture
files), it is set aside and counted.
"""
from __future__ import annotations

import copy
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from ...data_layout import DataLayout
from ...json_records import read_json_list
from ..probe_data import record_image
from socialfusion_plugin.errors import UserInputError


@dataclass
class TaskRecords:
    name: str
    file: Path
    records: List[Dict[str, Any]]  # image paths made absolute (checked to stay inside the image folder)
    skipped: Dict[str, int] = field(default_factory=dict)


def task_locations(name: str, data_root: Optional[Path], data: Mapping[str, Path], images: Mapping[str, Path]):
    if name not in data and data_root is None:
        raise UserInputError(f"task {name}: no --data-root and no --data {name}=FILE")
    layout = DataLayout(data_root) if data_root is not None else None
    file = Path(data[name]) if name in data else layout.converted(name, "train")
    folder = Path(images[name]) if name in images else (layout.release(name) if layout else file.parent)
    return file, folder


def load_task_records(name: str, file: Path, image_folder: Path) -> TaskRecords:
    data = read_json_list(file, f"task {name}: data file")
    skipped: Counter = Counter()
    records = []
    for index, record in enumerate(data):
        if not isinstance(record, dict) or not isinstance(record.get("conversations"), list):
            raise UserInputError(f"{file}: record {index} has no 'conversations' list")
        meta = record.get("meta")
        if isinstance(meta, dict) and meta.get("task") not in (None, name):
            skipped["other task"] += 1
            continue
        record = copy.deepcopy(record)
        if "image" in record:
            where = f"{file}: record {record.get('id', index)}"
            record["image"] = str(record_image(str(record["image"]), image_folder, where, FileNotFoundError))
        records.append(record)
    if not records:
        raise UserInputError(f"{file}: no record for task {name}")
    return TaskRecords(name=name, file=file, records=records, skipped=dict(skipped))


def sample_batches(task: TaskRecords, batches: int, batch_size: int, seed: int) -> List[List[Dict[str, Any]]]:
    """`batches` batches of `batch_size` records: a seeded permutation of the task's records, read in
    order and restarted (same permutation) when a task has fewer than batches * batch_size records.
    The same seed gives the same batches for every checkpoint, so a trend compares like with like."""
    order = list(range(len(task.records)))
    random.Random(f"{seed}:{task.name}").shuffle(order)
    picks = [order[i % len(order)] for i in range(batches * batch_size)]
    return [[task.records[i] for i in picks[b * batch_size:(b + 1) * batch_size]] for b in range(batches)]

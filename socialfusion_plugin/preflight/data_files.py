"""A record file and the image folder its records point into: the file exists and is a JSON list,
the folder exists, and the images are there, checked on a sample before any model loads.

Used by every command with the resolution rule the command itself applies (`resolve`), and a
`keep(record)` filter for the records the command will actually use (its task, --limit, ...).

One pass over the records (streamed, never held in memory) gives:
- every folder the images live in (up to MAX_FOLDERS of them): one stat each, so a subset that was
  never downloaded or unpacked (`ocr_vqa/images`) is found whatever its size;
- the first image and a seeded sample of SAMPLE_SIZE more (reservoir sampling over the whole file):
  one stat each, so an `--image_folder` that points one level too high or too low is found.
Each kind of problem is one line, with a few examples.
"""
from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..json_records import iter_json_list
from ..tasks.paths import safe_relative_path
from .locations import input_file_problem, input_folder_problem
from .report import PreflightReport, flag_with_value

SAMPLE_SIZE = 20
MAX_FOLDERS = 1000
SHOWN = 3


@dataclass
class ImageScan:
    images: int = 0
    relative: int = 0  # images given relative to an image folder
    folder_images: Dict[str, list] = field(default_factory=dict)  # folder (as joined) -> [images, first record id]
    sample: List[Tuple[str, str]] = field(default_factory=list)  # (path, record id)
    unresolved: List[str] = field(default_factory=list)  # messages of images whose path cannot be made
    unresolved_count: int = 0

    def folders(self) -> Dict[str, Tuple[int, str]]:
        """Normalized folder -> (images, first record id)."""
        merged: Dict[str, Tuple[int, str]] = {}
        for folder, (count, first) in self.folder_images.items():
            key = os.path.normpath(folder)
            before, first = merged.get(key, (0, first))
            merged[key] = (before + count, first)
        return merged


def check_record_file(report: PreflightReport, data_flag: str, data_path, folder_flag: Optional[str],
                      image_folder, resolve: Callable[[str, Any, int], str],
                      keep: Callable[[Any], bool] = lambda record: True, limit: Optional[int] = None,
                      data_label: Optional[str] = None) -> None:
    """Report what is wrong with `data_path` and the images of its kept records (the first `limit`
    kept records when given). `image_folder` None: the command takes none (or it was not given); it
    must exist only when some record's image is relative to it."""
    if report.add(data_flag, None, input_file_problem(data_path)):
        return
    records = ((index, record) for index, record in iter_json_list(Path(data_path).expanduser()) if keep(record))
    try:
        scan = scan_images(itertools.islice(records, limit) if limit else records, resolve)
    except ValueError as err:  # not a JSON list, broken at some record: the message names file and line
        report.add(data_flag, None, str(err))
        return
    # without the image folder every image would be missing: the folder's line says it all
    if (folder_flag is not None and image_folder is not None and scan.relative
            and report.add(folder_flag, None, input_folder_problem(image_folder))):
        return
    label = data_label or flag_with_value(data_flag, data_path)
    if scan.unresolved_count:  # relative without a folder, or escaping it
        report.add(data_flag, None, f"{scan.unresolved_count} image path(s) of {label} cannot be used: "
                   + "; ".join(scan.unresolved))
    flag, value = (data_flag, None) if folder_flag is None or image_folder is None else (folder_flag, image_folder)
    report.add_each(flag, value, missing_image_problems(scan, label))


def inside_folder(data_file, image_folder) -> Callable[[str, Any, int], str]:
    """The resolution rule of the diagnostics: an absolute image path (convert --absolute-paths) as
    given, a relative one joined to `image_folder` and kept inside it (else a ValueError naming the record)."""
    def resolve(image, record, index):
        if Path(image).is_absolute():
            return image
        where = f"{data_file}: record {record.get('id', index)}"
        return str(Path(image_folder) / safe_relative_path(image_folder, image, where))

    return resolve


def record_images(record: Any) -> List[str]:
    """The image paths of a record: LLaVA's one `image` string (a list of strings is read too)."""
    image = record.get("image") if isinstance(record, dict) else None
    if isinstance(image, str):
        return [image]
    return [item for item in image if isinstance(item, str)] if isinstance(image, list) else []


def scan_images(records: Iterable[Tuple[int, Any]], resolve: Callable[[str, Any, int], str],
                seed: int = 0) -> ImageScan:
    """`resolve(image, record, index)` gives the path the command would open, or raises ValueError
    (a relative path without an image folder, a path that leaves it)."""
    scan = ImageScan()
    rng = random.Random(seed)
    for index, record in records:
        for image in record_images(record):
            try:
                path = resolve(image, record, index)
            except ValueError as err:
                scan.unresolved_count += 1
                if len(scan.unresolved) < SHOWN:
                    scan.unresolved.append(str(err))
                continue
            scan.images += 1
            if not os.path.isabs(image):
                scan.relative += 1
            entry = (path, str(record.get("id", index)))
            folder = os.path.dirname(path)
            if folder in scan.folder_images:
                scan.folder_images[folder][0] += 1
            elif len(scan.folder_images) < MAX_FOLDERS:
                scan.folder_images[folder] = [1, entry[1]]
            if len(scan.sample) <= SAMPLE_SIZE:  # the first image, then the reservoir until it is full
                scan.sample.append(entry)
            else:  # a reservoir over the images after the first
                slot = int(rng.random() * (scan.images - 1))
                if slot < SAMPLE_SIZE:
                    scan.sample[1 + slot] = entry
    return scan


def missing_image_problems(scan: ImageScan, data_label: str) -> List[str]:
    problems = []
    folders = scan.folders()
    missing_folders = sorted(folder for folder in folders if not os.path.isdir(folder))
    if missing_folders:
        shown = ", ".join(f"{folder} ({folders[folder][0]} image(s), e.g. record {folders[folder][1]})"
                          for folder in missing_folders[:SHOWN])
        more = f" and {len(missing_folders) - SHOWN} more" if len(missing_folders) > SHOWN else ""
        problems.append(f"{len(missing_folders)} image folder(s) used by {data_label} do not exist: {shown}{more}")
    gone = set(missing_folders)
    checked = [(path, rid) for path, rid in scan.sample if os.path.normpath(os.path.dirname(path)) not in gone]
    missing = [(path, rid) for path, rid in checked if not os.path.isfile(path)]
    if missing:
        shown = ", ".join(f"{path} (record {rid})" for path, rid in missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        problems.append(f"{len(missing)} of {len(checked)} sampled images of {data_label} not found: {shown}{more}")
    return problems

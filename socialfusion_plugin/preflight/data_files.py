"""A record file and the image folder its records point into: the file exists and is a JSON list,
the folder exists, and the images are there (sampled, `images.py`).

Used by every command with the resolution rule the command itself applies (`resolve`), and a
`keep(record)` filter for the records the command will actually use (its task, --limit, ...).
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Tuple

from ..json_records import iter_json_list
from .images import missing_image_problems, scan_images, unresolved_problem
from .locations import input_file_problem, input_folder_problem
from .report import PreflightReport, flag_with_value


def check_record_file(report: PreflightReport, data_flag: str, data_path, folder_flag: Optional[str],
                      image_folder, resolve: Callable[[str, Any, int], str],
                      keep: Callable[[Any], bool] = lambda record: True, limit: Optional[int] = None,
                      seed: int = 0, data_label: Optional[str] = None) -> None:
    """Report what is wrong with `data_path` and the images of its kept records (the first `limit`
    kept records when given). `image_folder` None: the command takes none (or it was not given); it
    must exist only when some record's image is relative to it."""
    problem = input_file_problem(data_path)
    if problem:
        report.add(data_flag, None, problem)
        return
    records = _kept(iter_json_list(Path(data_path).expanduser()), keep, limit)
    try:
        scan = scan_images(records, resolve, seed=seed)
    except ValueError as err:  # not a JSON list, broken at some record: the message names file and line
        report.add(data_flag, None, str(err))
        return
    if folder_flag is not None and image_folder is not None and scan.relative:
        folder_problem = input_folder_problem(image_folder)
        if folder_problem:  # every image would be missing: the folder's line says it all
            report.add(folder_flag, None, folder_problem)
            return
    label = data_label or flag_with_value(data_flag, data_path)
    report.add(data_flag, None, unresolved_problem(scan, label))
    flag, value = (data_flag, None) if folder_flag is None or image_folder is None else (folder_flag, image_folder)
    for problem in missing_image_problems(scan, label):
        report.add(flag, value, problem)


def _kept(records: Iterator[Tuple[int, Any]], keep, limit: Optional[int]) -> Iterator[Tuple[int, Any]]:
    kept = ((index, record) for index, record in records if keep(record))
    return itertools.islice(kept, limit) if limit else kept

"""Are the images of a record file there? Checked on a sample, before any model loads.

One pass over the records (streamed, never held in memory) gives:
- every folder the images live in (up to MAX_FOLDERS of them): one stat each, so a subset that was
  never downloaded or unpacked (`ocr_vqa/images`) is found whatever its size;
- the first image and a seeded sample of SAMPLE_SIZE more (reservoir sampling over the whole file):
  one stat each, so an `--image_folder` that points one level too high or too low is found.
Each kind of problem is one line, with a few examples.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

SAMPLE_SIZE = 20
MAX_FOLDERS = 1000
SHOWN = 3


@dataclass
class ImageScan:
    """What one pass over the records found."""

    images: int = 0
    relative: int = 0  # images given relative to an image folder
    folder_images: Dict[str, int] = field(default_factory=dict)  # folder (as joined) -> images in it
    folder_first: Dict[str, str] = field(default_factory=dict)  # folder -> id of its first record
    sample: List[Tuple[str, str]] = field(default_factory=list)  # (path, record id)
    unresolved: List[str] = field(default_factory=list)  # messages of images whose path cannot be made
    unresolved_count: int = 0

    def folders(self) -> Dict[str, Tuple[int, str]]:
        """Normalized folder -> (images, first record id)."""
        merged: Dict[str, Tuple[int, str]] = {}
        for folder, count in self.folder_images.items():
            key = os.path.normpath(folder)
            before, first = merged.get(key, (0, self.folder_first[folder]))
            merged[key] = (before + count, first)
        return merged


def record_images(record: Any) -> List[str]:
    """The image paths of a record: LLaVA's one `image` string (a list of strings is read too)."""
    if not isinstance(record, dict) or "image" not in record:
        return []
    image = record["image"]
    if isinstance(image, str):
        return [image]
    if isinstance(image, list):
        return [item for item in image if isinstance(item, str)]
    return []


def scan_images(records: Iterable[Tuple[int, Any]], resolve: Callable[[str, Any, int], str],
                seed: int = 0, sample_size: int = SAMPLE_SIZE) -> ImageScan:
    """`resolve(image, record, index)` gives the path the command would open, or raises ValueError
    (a relative path without an image folder, a path that leaves it)."""
    scan = ImageScan()
    rng = random.Random(seed)
    seen = 0  # images eligible for the reservoir (all but the first)
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
            folder = os.path.dirname(path)
            count = scan.folder_images.get(folder)
            if count is not None:
                scan.folder_images[folder] = count + 1
            elif len(scan.folder_images) < MAX_FOLDERS:
                scan.folder_images[folder] = 1
                scan.folder_first[folder] = str(record.get("id", index))
            if scan.images == 1:
                scan.sample.append((path, str(record.get("id", index))))
                continue
            seen += 1
            if len(scan.sample) <= sample_size:
                scan.sample.append((path, str(record.get("id", index))))
            else:
                slot = int(rng.random() * seen)
                if slot < sample_size:
                    scan.sample[1 + slot] = (path, str(record.get("id", index)))
    return scan


def unresolved_problem(scan: ImageScan, data_label: str) -> Optional[str]:
    """One line for the image paths that cannot be used at all (relative without a folder, escaping it)."""
    if not scan.unresolved_count:
        return None
    return f"{scan.unresolved_count} image path(s) of {data_label} cannot be used: " + "; ".join(scan.unresolved)


def missing_image_problems(scan: ImageScan, data_label: str) -> List[str]:
    """Problem messages (each one line) for the folders and sampled images that are missing."""
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

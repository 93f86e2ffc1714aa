"""Tiny PISC releases in the real on-disk format, with the quirks of the real download."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List

from PIL import Image


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def write_release(root: Path, image_info: List[Dict[str, Any]], relationship: Dict[str, Dict[str, Any]],
                  domain: Dict[str, Dict[str, Any]], splits: Dict[str, List[str]],
                  domain_splits: Dict[str, List[str]], image_files: Iterable[str]) -> Path:
    write_json(root / "annotation_image_info.json", image_info)
    write_json(root / "relationship.json", relationship)
    write_json(root / "domain.json", domain)
    for split, ids in splits.items():
        write_json(root / "relationship_split" / f"relation_{split}idx.json", ids)
    for split, ids in domain_splits.items():
        write_json(root / "domain_split" / f"domain_{split}idx.json", ids)
    for name in image_files:
        (root / "image" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (10, 200, 90)).save(root / "image" / name)
    return root


def standard_release(root: Path) -> Path:
    """Ids are strings (padded or bare) in keys and splits, ints in the image info; one malformed
    pair of each kind; image 3 is stored under its bare id."""
    image_info = [
        {"id": 1, "imgW": 100, "imgH": 50, "bbox": [[10, 5, 40, 45], [50, 0, 100, 50], [0, 0, 20, 20]]},
        {"id": 2, "imgW": 200, "imgH": 100, "bbox": [[0, 0, 100, 100], [100, 0, 200, 100]]},
        {"id": 3, "imgW": 80, "imgH": 80, "bbox": [[0, 0, 40, 80], [40, 0, 80, 80]]},
        {"id": 4, "imgW": 80, "imgH": 80, "bbox": [[0, 0, 40, 80], [40, 0, 80, 80]]},
        {"id": 5, "imgW": 80, "imgH": 80, "bbox": [[0, 0, 40, 80], [40, 0, 80, 80]]},
        {"id": 7, "imgW": 0, "imgH": 80, "bbox": [[0, 0, 40, 80], [40, 0, 80, 80]]},
        {"id": 8, "imgW": 64, "imgH": 32, "bbox": [[0, 0, 32, 32], [32, 0, 64, 32], [16, 8, 48, 24]]},
        {"id": 9, "imgW": 80, "imgH": 80, "bbox": [[0, 0, 40], [40, 0, 80, 80]]},
    ]
    relationship = {
        "00001": {"1 2": 1, "2 3": 6, "1 4": 2, "1 x": 1, "3 1": 9},
        "2": {"1 2": 3},
        "00003": {"2 1": "4"},
        "00004": {"1 2": 5},
        "00006": {"1 2": 1},
        "00007": {"1 2": 2},
        "00008": {"1 2": 4, "1 3": 5, "2 3": 2},
        "00009": {"1 2": 1},
    }
    domain = {
        "00001": {"1 2": 1, "2 3": 3, "1 3": 2},
        "00002": {"1 2": 2},
        "00008": {"1 2": 2, "2 3": 1, "1 3": 3},
    }
    splits = {
        # 00003 twice: the second listing is a duplicate; 00005 has no annotated pairs.
        "train": ["00001", "00002", "00003", "00004", "00005", "00006", "00007", "00009", "00003"],
        "val": ["00002"],
        "test": ["00008"],
    }
    domain_splits = {"train": ["00001", "00002"], "val": [], "test": ["00008"]}
    image_files = ["00001.jpg", "00002.jpg", "3.jpg", "00005.jpg", "00007.jpg", "00008.jpg", "00009.jpg"]
    return write_release(root, image_info, relationship, domain, splits, domain_splits, image_files)

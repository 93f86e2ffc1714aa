"""Builders of small synthetic EMOTIC releases in the real formats: the official
`Annotations/Annotations.mat` (MATLAB struct arrays written with scipy.io.savemat, so loadmat
returns the same nesting as the real file) and Tandon-A/emotic's `emotic_pre/{split}.csv`."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

NAN = float("nan")


def make_image(root: Path, relative: str, size=(8, 6)) -> None:
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 80, 40)).save(path)


def cell(values: Sequence) -> np.ndarray:
    """A 1xN MATLAB cell array (0x0 when empty, as MATLAB writes `{}`)."""
    if not values:
        return np.empty((0, 0), dtype=object)
    array = np.empty((1, len(values)), dtype=object)
    for i, value in enumerate(values):
        array[0, i] = value
    return array


def struct_array(items: List[Dict]) -> np.ndarray:
    """A 1xN MATLAB struct array; every element has the fields of the first (MATLAB requires it)."""
    if not items:
        return np.zeros((0, 0))
    names = list(items[0])
    array = np.zeros((1, len(items)), dtype=[(name, object) for name in names])
    for i, item in enumerate(items):
        for name in names:
            array[0, i][name] = item[name]
    return array


def continuous(valence, arousal, dominance) -> Dict:
    return {"valence": float(valence), "arousal": float(arousal), "dominance": float(dominance)}


def train_person(bbox, categories, vad=(5, 5, 5), gender="Male", age="Adult") -> Dict:
    """A train person: one annotator, its `categories` cell and its continuous ratings."""
    return {
        "body_bbox": np.array([bbox], dtype=np.float64),
        "annotations_categories": {"categories": cell(categories)},
        "annotations_continuous": continuous(*vad),
        "gender": gender,
        "age": age,
    }


def test_person(bbox, annotators, combined, combined_vad=(5, 5, 5)) -> Dict:
    """A val/test person: a 1xA struct array of annotators plus the combined labels."""
    return {
        "body_bbox": np.array([bbox], dtype=np.float64),
        "annotations_categories": struct_array([{"categories": cell(c)} for c in annotators]),
        "combined_categories": cell(combined),
        "annotations_continuous": struct_array([continuous(*combined_vad) for _ in annotators]),
        "combined_continuous": continuous(*combined_vad),
        "gender": "Female",
        "age": "Kid",
    }


def image_entry(filename, folder, n_row, n_col, persons: List[Dict], database="mscoco") -> Dict:
    return {
        "filename": filename,
        "folder": folder,
        # the real file stores n_col before n_row; readers must use the names
        "image_size": {"n_col": float(n_col), "n_row": float(n_row)},
        "original_database": {"name": database, "info": {"image_id": 1.0}},
        "person": struct_array(persons),
    }


def write_mat(path: Path, splits: Dict[str, List[Dict]]) -> Path:
    from scipy.io import savemat

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    savemat(buffer, {name: struct_array(entries) for name, entries in splits.items()})
    # The 116-byte text header ends in the creation time: a fixed one makes the same splits write
    # the same bytes (loadmat reads no part of it).
    path.write_bytes(MAT_HEADER + buffer.getvalue()[len(MAT_HEADER):])
    return path


MAT_HEADER = b"MATLAB 5.0 MAT-file, written by socialfusion_plugin's synthetic EMOTIC release".ljust(116)


# ---- the standard synthetic release used by the tests ----------------------------------------

COCO = "mscoco/images"
EMODB = "emodb_small/images"


def standard_splits() -> Dict[str, List[Dict]]:
    """Every quirk of the release, with the skip each one must produce noted beside it."""
    train = [
        image_entry("COCO_train_001.jpg", COCO, 480, 640, [
            # categories out of canonical order -> answer sorts them
            train_person([64, 48, 320, 480], ["Happiness", "Engagement"], vad=(6, 4, 7)),
            # one category squeezes to a bare string; NaN ratings -> vad null; box past the border -> clamped
            train_person([600, 0, 700, 240], ["Peace"], vad=(NAN, 5, 5), gender="Female", age="Teenager"),
        ]),
        # a single person squeezes to one struct
        image_entry("emo_002.jpg", EMODB, 100, 200, [
            train_person([50, 10, 150, 90], ["Fear", "Disquietment"], vad=(2, 8, 3)),
        ], database="emodb"),
        image_entry("COCO_missing.jpg", COCO, 480, 640, [  # image file absent -> "image not found"
            train_person([0, 0, 10, 10], ["Happiness"]),
        ]),
        image_entry("COCO_train_004.jpg", COCO, 480, 640, [  # -> "unknown emotion category"
            train_person([0, 0, 10, 10], ["Happiness", "Boredom"]),
        ]),
        image_entry("COCO_train_005.jpg", COCO, 480, 640, [  # zero-area box -> "invalid body box"
            train_person([30, 30, 30, 90], ["Happiness"]),
        ]),
        image_entry("COCO_train_006.jpg", COCO, 480, 640, [  # train person with empty categories
            train_person([0, 0, 10, 10], []),
        ]),
    ]
    test = [
        image_entry("COCO_test_001.jpg", COCO, 200, 400, [
            test_person([40, 20, 200, 200], [["Happiness", "Pleasure"], ["Engagement"], ["Happiness"]],
                        ["Pleasure", "Engagement", "Happiness"], combined_vad=(5.5, 4.25, 6)),
            # annotators present but the combined set is empty -> "no emotion categories"
            test_person([200, 20, 400, 200], [[]], [], combined_vad=(5, 5, 5)),
        ]),
        image_entry("COCO_test_002.jpg", COCO, 200, 400, [
            {**test_person([0, 0, 100, 100], [["Sadness"]], ["Sadness"]),  # no annotators at all
             "annotations_categories": np.zeros((0, 0)), "combined_categories": np.zeros((0, 0)),
             "annotations_continuous": np.zeros((0, 0)), "combined_continuous": np.zeros((0, 0))},
        ]),
        image_entry("COCO_test_003.jpg", COCO, 200, 400, [
            test_person([100, 50, 300, 150], [["Doubt/Confusion", "Sadness"], ["Sadness"]],
                        ["Sadness", "Doubt/Confusion"], combined_vad=(3, NAN, 4)),
        ]),
    ]
    val = [
        image_entry("COCO_val_001.jpg", COCO, 100, 100, [
            test_person([10, 10, 90, 90], [["Anticipation"]], ["Anticipation"], combined_vad=(6, 6, 6)),
        ]),
    ]
    return {"train": train, "val": val, "test": test}


def build_mat_release(root: Path, mat_name: str = "Annotations.mat") -> Path:
    """Images for every entry except COCO_missing.jpg, and the .mat under Annotations/."""
    root = Path(root)
    splits = standard_splits()
    for entries in splits.values():
        for entry in entries:
            if entry["filename"] != "COCO_missing.jpg":
                make_image(root, f"{entry['folder']}/{entry['filename']}")
    write_mat(root / "Annotations" / mat_name, splits)
    return root


CSV_HEADER = ["Index", "Folder", "Filename", "Image Size", "BBox", "Categorical_Labels", "Continuous_Labels",
              "Gender", "Age"]


def csv_row(index, folder, filename, size, bbox, categories, vad, gender="Male", age="Adult") -> List[str]:
    """A row as mat2py.py writes it: Python's str() of each list, `nan` for a missing rating."""
    return [str(index), folder, filename, str(list(size)), str(list(bbox)), str(list(categories)),
            str(list(vad)), gender, age]


def write_csv(path: Path, rows: List[List[str]], header: Optional[List[str]] = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, dialect="excel")
        writer.writerow(header or CSV_HEADER)
        writer.writerows(rows)
    return path


def build_csv_release(root: Path) -> Path:
    """Tandon-A/emotic's data_dir: images under emotic/, CSVs under emotic_pre/ (no .mat)."""
    root = Path(root)
    make_image(root, "emotic/mscoco/images/COCO_test_001.jpg")
    make_image(root, "emotic/emodb_small/images/emo_002.jpg")
    rows = [
        csv_row(0, COCO, "COCO_test_001.jpg", [200, 400], [40, 20, 200, 200],
                ["Engagement", "Happiness", "Pleasure"], [5.5, 4.25, 6]),
        csv_row(1, EMODB, "emo_002.jpg", [100, 200], [50, 10, 150, 90], ["Fear"], [2, NAN, 3], "Female", "Kid"),
        csv_row(2, COCO, "COCO_test_001.jpg", [200, 400], [200, 20, 400, 200], "['Happiness'", [5, 5, 5]),
        csv_row(3, COCO, "COCO_gone.jpg", [200, 400], [0, 0, 10, 10], ["Sadness"], [5, 5, 5]),
        csv_row(4, COCO, "COCO_test_001.jpg", [200, 400], [0, 0, 10, 10], [], [5, 5, 5]),
    ]
    rows[2][5] = "['Happiness'"  # a truncated literal -> "malformed record"
    write_csv(root / "emotic_pre" / "test.csv", rows)
    return root

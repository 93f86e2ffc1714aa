"""The widely used (unofficial) CSV conversion of EMOTIC, written by `mat2py.py` of
Tandon-A/emotic into `<data_dir>/emotic_pre/{train,val,test}.csv`.

One row per person: Index, Folder, Filename, Image Size, BBox, Categorical_Labels,
Continuous_Labels, Gender, Age. List cells are Python literals ("[480, 640]",
"['Engagement', 'Happiness']"); val/test rows hold the combined labels. `Image Size` is
[n_row, n_col] (height, width). Python writes a missing rating as a bare `nan`, which is read as
None. Number cells are read as plain decimal numbers (tasks/geometry.py: `1_000` and `0x10`, which
Python's literal syntax accepts, are malformed); label cells are parsed with ast.literal_eval,
never eval.
"""
from __future__ import annotations

import ast
import csv
import re
from pathlib import Path
from typing import Iterator, List, Optional, Union

from ...json_records import not_utf8_message
from ..base import Skip
from ..geometry import decimal_number
from .persons import VAD_KEYS, PersonRecord
from socialfusion_plugin.errors import UserInputError

# Folders searched (relative to --root) when csv_dir is not given, and file names tried in each.
CSV_DIRS = ("emotic_pre", "annots", ".")
CSV_NAMES = ("{split}.csv", "annot_arrs_{split}.csv")
REQUIRED_COLUMNS = ("Index", "Folder", "Filename", "Image Size", "BBox", "Categorical_Labels", "Continuous_Labels")

_NAN = re.compile(r"\bnan\b", re.IGNORECASE)


class _CellError(UserInputError):
    pass


def csv_candidates(root: Path, split: str, csv_dir: str = "") -> List[Path]:
    folders = [Path(csv_dir)] if csv_dir else [Path(d) for d in CSV_DIRS]
    return [Path(root) / folder / name.format(split=split) for folder in folders for name in CSV_NAMES]


_MISSING = ("nan", "none")  # how Python writes a missing rating (NaN) in a list


def _number_list(text: str, column: str) -> List[Optional[float]]:
    """'[480, 640]' or '(1.5, nan, 3)' -> numbers (None for a missing one). A number too large
    for a float becomes infinity, which the person checks refuse."""
    stripped = text.strip()
    if not stripped:
        return []
    if len(stripped) < 2 or stripped[0] + stripped[-1] not in ("[]", "()"):
        raise _CellError(f"column {column!r} is not a list: {text[:80]!r}")
    inner = stripped[1:-1].strip()
    items = [item.strip() for item in inner.split(",")] if inner else []
    if items and not items[-1]:
        items.pop()  # a trailing comma, as Python writes a one-element tuple
    out: List[Optional[float]] = []
    for item in items:
        if item.lower() in _MISSING:
            out.append(None)
            continue
        try:
            out.append(decimal_number(item))
        except ValueError:
            raise _CellError(f"column {column!r} holds {item[:40]!r}, not a decimal number") from None
    return out


def _string_list(text: str, column: str) -> List[str]:
    try:
        value = ast.literal_eval(_NAN.sub("None", text.strip())) if text.strip() else []
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _CellError(f"column {column!r} is not a Python literal: {text[:80]!r}") from None
    if isinstance(value, str):  # a hand-written single label
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise _CellError(f"column {column!r} is not a list of strings: {text[:80]!r}")
    return list(value)


def _person(row: dict, ref: str) -> PersonRecord:
    index_text = (row.get("Index") or "").strip()
    if not (index_text.isascii() and index_text.isdigit() and len(index_text) <= 18):
        raise _CellError(f"Index {index_text!r} is not a row number")
    filename = (row.get("Filename") or "").strip()
    continuous = _number_list(row["Continuous_Labels"], "Continuous_Labels")
    if len(continuous) not in (0, len(VAD_KEYS)):  # an empty list: no ratings; any other count: damage
        raise _CellError(f"column 'Continuous_Labels' holds {len(continuous)} values, expected "
                         f"{len(VAD_KEYS)} ({', '.join(VAD_KEYS)})")
    vad = dict(zip(VAD_KEYS, continuous)) if continuous else None
    return PersonRecord(
        ref=ref,
        sample_id=f"row{int(index_text):05d}-{Path(filename).stem or 'image'}",
        folder=(row.get("Folder") or "").strip(),
        filename=filename,
        image_size=_number_list(row["Image Size"], "Image Size"),
        body_bbox=[v if v is not None else float("nan") for v in _number_list(row["BBox"], "BBox")],
        categories=_string_list(row["Categorical_Labels"], "Categorical_Labels"),
        vad=vad,
        gender=(row.get("Gender") or "").strip() or None,
        age=(row.get("Age") or "").strip() or None,
        n_annotators=None,
    )


def iter_csv_persons(path: Path) -> Iterator[Union[PersonRecord, Skip]]:
    """One PersonRecord (or Skip) per row. A file that is not UTF-8, or a cell over csv's field
    size limit (128 KiB), stops the reading with a ValueError naming the file and line."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        try:
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserInputError(f"{path}:1: missing column(s) {', '.join(missing)}; found {reader.fieldnames}")
            for row in reader:
                ref = f"{path.name}:{reader.line_num}"
                if None in row or any(row.get(c) is None for c in REQUIRED_COLUMNS):
                    yield Skip(ref, "malformed record", detail="wrong number of columns")
                    continue
                try:
                    yield _person(row, ref)
                except _CellError as err:
                    yield Skip(ref, "malformed record", detail=str(err))
        except csv.Error as err:
            # DictReader.line_num is updated only after a row is read; its csv.reader's is current
            raise UserInputError(f"{path}:{reader.reader.line_num}: not readable as CSV ({err})") from None
        except UnicodeDecodeError:
            raise UserInputError(not_utf8_message(path)) from None

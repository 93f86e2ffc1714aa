"""The official EMOTIC annotations: `Annotations/Annotations.mat` (or `CVPR17_Annotations.mat`).

`train`, `val` and `test` are 1xN struct arrays, one element per image entry, each with a 1xP
`person` struct array. A train person has one annotator (`annotations_categories.categories`,
`annotations_continuous`); a val/test person has 1xA annotator structs plus
`combined_categories` (the union the benchmark scores) and `combined_continuous`.
loadmat has to read the whole file; persons are then yielded one at a time.

The accessors below read MATLAB structs as scipy.io.loadmat returns them: one EMOTIC field loads as
a 0-d array, a 1-element array, a plain value or a nested (1, 1) object array depending on its size
(a one-category cell squeezes to a bare string, a one-person image to a single struct); they turn
every form into plain lists, strings and floats, so the reader never indexes `[0][0]` blindly.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from ...errors import UserInputError
from ..base import Skip
from .persons import VAD_KEYS, PersonRecord

# Preferred first: Annotations.mat is the current release; CVPR17_Annotations.mat the first one.
MAT_CANDIDATES = ("Annotations/Annotations.mat", "Annotations/CVPR17_Annotations.mat")


def load_split(path: Path, split: str) -> List[Any]:
    """The image entries of one split; ValueError naming the file when it cannot be used."""
    from scipy.io import loadmat

    try:
        # squeeze_me + mat_struct objects: fields by name, no positional [0][0] chains
        data = loadmat(str(path), squeeze_me=True, struct_as_record=False, variable_names=[split])
    except NotImplementedError as err:  # MATLAB v7.3 (HDF5) files
        raise UserInputError(f"{path}: unsupported .mat version ({err}); save it with -v7 "
                             "or use the CSV source") from None
    except Exception as err:  # scipy raises several types for truncated or non-.mat files
        raise UserInputError(f"{path}: not a readable MATLAB file ({err})") from None
    if split not in data:
        raise UserInputError(f"{path}: no variable {split!r} (expected train, val and test struct arrays)")
    return elements(data[split])


def _vad(struct: Any) -> Optional[Dict[str, Optional[float]]]:
    entries = elements(struct)
    if not entries:
        return None
    first = entries[0]
    return {key: as_float(field(first, key)) if has_field(first, key) else None for key in VAD_KEYS}


def _optional_text(person: Any, name: str) -> Optional[str]:
    try:
        return as_string(field(person, name)) or None
    except MatFieldError:  # absent, or not text
        return None


def _person_record(person: Any, ref: str, sample_id: str, image: Dict[str, Any]) -> PersonRecord:
    annotators = elements(field(person, "annotations_categories"))
    if has_field(person, "combined_categories"):
        categories = strings(field(person, "combined_categories"))
        vad_source = optional_field(person, "combined_continuous")
    else:  # train: the single annotator's own labels
        categories = [name for annotator in annotators for name in strings(field(annotator, "categories"))]
        vad_source = optional_field(person, "annotations_continuous")
    return PersonRecord(
        ref=ref,
        sample_id=sample_id,
        folder=image["folder"],
        filename=image["filename"],
        image_size=image["size"],
        body_bbox=numbers(field(person, "body_bbox")),
        categories=categories,
        vad=_vad(vad_source),
        gender=_optional_text(person, "gender"),
        age=_optional_text(person, "age"),
        n_annotators=len(annotators),
    )


def _image_fields(entry: Any) -> Dict[str, Any]:
    size = field(entry, "image_size")
    return {
        "filename": as_string(field(entry, "filename")),
        "folder": as_string(field(entry, "folder")),
        "size": (as_float(field(size, "n_row")), as_float(field(size, "n_col"))),
    }


def iter_mat_persons(path: Path, split: str) -> Iterator[Union[PersonRecord, Skip]]:
    """One PersonRecord per person, or a Skip for a person (or a whole image entry whose person
    list cannot be read) that is malformed."""
    for image_index, entry in enumerate(load_split(path, split)):
        where = f"{path.name}:{split}[{image_index}]"
        try:
            persons = elements(field(entry, "person"))
        except MatFieldError as err:
            yield Skip(where, "malformed record", detail=str(err))
            continue
        for person_index, person in enumerate(persons):
            ref = f"{where}.person[{person_index}]"
            try:  # an image entry that cannot be read makes each of its persons a skip
                image = _image_fields(entry)
                stem = Path(image["filename"]).stem or "image"
                yield _person_record(person, ref, f"{image_index:05d}-{stem}-p{person_index}", image)
            except MatFieldError as err:
                yield Skip(ref, "malformed record", detail=str(err))


class MatFieldError(UserInputError):
    """A struct lacks a field or holds a value of the wrong kind (one record is malformed)."""


def _unwrap(value: Any) -> Any:
    """Strip the size-1 array layers MATLAB adds around a single value (a struct's element ends it)."""
    while isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def _field_names(struct: Any) -> Optional[Sequence[str]]:
    """The field names of an unwrapped struct; None for a value that is not a struct."""
    if isinstance(struct, np.void):
        return struct.dtype.names or None
    return getattr(struct, "_fieldnames", None)  # scipy's mat_struct (struct_as_record=False)


def has_field(struct: Any, name: str) -> bool:
    return name in (_field_names(_unwrap(struct)) or ())


def field(struct: Any, name: str) -> Any:
    """`struct.name`, whichever way loadmat represented the struct; MatFieldError if absent."""
    struct = _unwrap(struct)
    names = _field_names(struct)
    if names is None:
        raise MatFieldError(f"expected a struct with field {name!r}, got {type(struct).__name__}")
    if name not in names:
        raise MatFieldError(f"struct has no field {name!r}")
    return struct[name] if isinstance(struct, np.void) else getattr(struct, name)


def optional_field(struct: Any, name: str) -> Any:
    return field(struct, name) if has_field(struct, name) else None


def elements(value: Any) -> List[Any]:
    """The elements of a struct array or cell array as a list: [] for an empty array, one element
    for a squeezed single struct, string or number."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        if value.dtype.names is not None:
            return list(value.reshape(-1))
        if value.dtype.kind in "US":  # a char array that is one string
            return [as_string(value)] if value.size else []
        return [_unwrap(item) for item in value.reshape(-1)]
    return [value]


def as_string(value: Any) -> str:
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        if value.dtype.kind in "US":
            return "".join(str(part) for part in value.reshape(-1))
        raise MatFieldError(f"expected text, got an array of {value.dtype}")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return str(value)  # np.str_ -> str, so metas hold plain types
    raise MatFieldError(f"expected text, got {type(value).__name__}")


def strings(value: Any) -> List[str]:
    """A cell array of strings (possibly squeezed to one string, or empty) as a list."""
    return [as_string(item) for item in elements(value)]


def as_float(value: Any) -> Optional[float]:
    """A scalar as float; None for an empty value or NaN (EMOTIC's missing continuous ratings)."""
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        raise MatFieldError(f"expected a number, got an array of shape {value.shape}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MatFieldError(f"expected a number, got {value!r}") from None
    return None if math.isnan(number) else number


def numbers(value: Any) -> List[float]:
    """A numeric vector (e.g. a box) as a list of floats, NaNs kept."""
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise MatFieldError(f"expected numbers, got {value!r}") from None
    return [float(x) for x in array]

"""The official EMOTIC annotations: `Annotations/Annotations.mat` (or `CVPR17_Annotations.mat`).

`train`, `val` and `test` are 1xN struct arrays, one element per image entry, each with a 1xP
`person` struct array. A train person has one annotator (`annotations_categories.categories`,
`annotations_continuous`); a val/test person has 1xA annotator structs plus
`combined_categories` (the union the benchmark scores) and `combined_continuous`.
loadmat has to read the whole file; persons are then yielded one at a time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from ...json_records import InputFileError
from ..base import Skip
from .matstruct import MatFieldError, as_float, as_string, elements, field, has_field, numbers, strings
from .persons import VAD_KEYS, PersonRecord
from socialfusion_plugin.errors import UserInputError

# Preferred first: Annotations.mat is the current release; CVPR17_Annotations.mat the first one.
MAT_CANDIDATES = ("Annotations/Annotations.mat", "Annotations/CVPR17_Annotations.mat")


def find_mat_file(root: Path) -> Optional[Path]:
    for relative in MAT_CANDIDATES:
        path = Path(root) / relative
        if path.is_file():
            return path
        if path.is_dir():
            raise InputFileError(f"{path}: is a folder; expected the EMOTIC annotations (a .mat file)")
    return None


def load_split(path: Path, split: str) -> List[Any]:
    """The image entries of one split; ValueError naming the file when it cannot be used."""
    from scipy.io import loadmat

    try:
        # squeeze_me + mat_struct objects: fields by name, no positional [0][0] chains
        data = loadmat(str(path), squeeze_me=True, struct_as_record=False, variable_names=[split])
    except NotImplementedError as err:  # MATLAB v7.3 (HDF5) files
        raise UserInputError(f"{path}: unsupported .mat version ({err}); save it with -v7 or use the CSV source") from None
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
    if not has_field(person, name):
        return None
    try:
        return as_string(field(person, name)) or None
    except MatFieldError:
        return None


def _person_record(person: Any, ref: str, sample_id: str, image: Dict[str, Any]) -> PersonRecord:
    annotators = elements(field(person, "annotations_categories"))
    if has_field(person, "combined_categories"):
        categories = strings(field(person, "combined_categories"))
        vad_source = field(person, "combined_continuous") if has_field(person, "combined_continuous") else None
    else:  # train: the single annotator's own labels
        categories = []
        for annotator in annotators:
            categories.extend(strings(field(annotator, "categories")))
        vad_source = field(person, "annotations_continuous") if has_field(person, "annotations_continuous") else None
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
        try:
            image: Optional[Dict[str, Any]] = _image_fields(entry)
            image_error = ""
        except MatFieldError as err:
            image, image_error = None, str(err)
        for person_index, person in enumerate(persons):
            ref = f"{where}.person[{person_index}]"
            if image is None:
                yield Skip(ref, "malformed record", detail=image_error)
                continue
            stem = Path(image["filename"]).stem or "image"
            sample_id = f"{image_index:05d}-{stem}-p{person_index}"
            try:
                yield _person_record(person, ref, sample_id, image)
            except MatFieldError as err:
                yield Skip(ref, "malformed record", detail=str(err))

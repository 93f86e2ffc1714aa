"""Evaluation inputs from a converted LLaVA JSON file: the question (first human turn) and the
image of each record, with image paths kept inside the image folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from ..json_records import read_json_list
from ..tasks.paths import safe_relative_path
from socialfusion_plugin.errors import UserInputError


class EvalDataError(UserInputError):
    """A record that cannot be evaluated; the message names the file and the record."""


def load_records(path: Path) -> List[Dict[str, Any]]:
    path = Path(path)
    data = read_json_list(path, "data file", EvalDataError)
    seen = set()
    for index, record in enumerate(data):
        if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("conversations"), list):
            raise EvalDataError(f"{path}: record {index} needs an 'id' and a 'conversations' list")
        key = str(record["id"])
        if key in seen:
            raise EvalDataError(f"{path}: record {index} repeats id {key!r}; predictions are joined by id")
        seen.add(key)
    return data


def question_of(record: Dict[str, Any], where: str) -> str:
    """The first human turn (converted eval splits already hold "<image>\\n" + the eval wording)."""
    for turn in record["conversations"]:
        if isinstance(turn, dict) and turn.get("from") == "human" and isinstance(turn.get("value"), str):
            return turn["value"]
    raise EvalDataError(f"{where}: record {record.get('id')!r} has no human turn")


def image_path(record: Dict[str, Any], image_folder: Optional[Path], where: str) -> Path:
    """Absolute paths in the data are used as given; relative ones are joined to --image-folder and
    must stay inside it."""
    image = record.get("image")
    if not isinstance(image, str) or not image:
        raise EvalDataError(f"{where}: record {record.get('id')!r} has no image")
    if Path(image).is_absolute():
        return Path(image)
    if image_folder is None:
        raise EvalDataError(f"{where}: record {record.get('id')!r} has a relative image path {image!r}; "
                            "pass --image-folder (the dataset root used by convert)")
    try:
        relative = safe_relative_path(Path(image_folder), image, f"{where} record {record.get('id')!r}")
    except ValueError as err:
        raise EvalDataError(str(err)) from None
    return Path(image_folder) / relative


def open_image(path: Path, where: str):
    """The image as RGB; a missing, empty, corrupt or decompression-bomb file is an error naming it
    (PIL's own errors would end the run with a traceback)."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise FileNotFoundError(f"{where}: image {path} not found")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except Image.DecompressionBombError as err:
        raise EvalDataError(f"{where}: image {path} is refused as a decompression bomb: {err}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:  # what PIL raises on bad bytes
        raise EvalDataError(f"{where}: image {path} cannot be read ({type(err).__name__}: {err})") from None

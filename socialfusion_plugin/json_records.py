"""Reading JSON files whose top level must have one shape (a list of LLaVA records, an annotation
object), with errors that name the file: every command and converter reports them the same way."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Type


def read_json(path: Path, what: str = "data file", kind: type = list, expected: str = "a JSON list of records",
              error: Type[ValueError] = ValueError, hint: str = "") -> Any:
    """The JSON value in `path`. Missing file -> FileNotFoundError; not JSON, or not of `kind` -> `error`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found" + (f" ({hint})" if hint else ""))
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as err:
        raise error(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, kind):
        raise error(f"{path}: expected {expected}, got {type(data).__name__}")
    return data


def read_json_list(path: Path, what: str = "data file", error: Type[ValueError] = ValueError,
                   hint: str = "") -> List[Any]:
    return read_json(path, what, list, "a JSON list of records", error, hint)

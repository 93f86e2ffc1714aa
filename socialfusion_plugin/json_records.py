"""JSON files of records: reading a file whose top level must have one shape (a list of LLaVA
records, an annotation object) with errors that name the file, and writing a record list one record
at a time so that a half-written file never takes the output's name."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, List, Type


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


@contextlib.contextmanager
def json_list_writer(out: Path) -> Iterator[Callable[[str], None]]:
    """Yields `write(encoded_record)`. Records stream to OUT.partial, which becomes OUT only when the
    block ends without an error; on an error no file is left behind. Memory stays flat."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("[")
            written = 0

            def write(text: str) -> None:
                nonlocal written
                handle.write("\n" if written == 0 else ",\n")
                handle.write(text)
                written += 1

            yield write
            handle.write("\n]\n")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()

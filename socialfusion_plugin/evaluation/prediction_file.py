"""The predictions file of `eval`: JSON lines appended and flushed batch by batch, so an
interrupted run resumes where it stopped (ids already written are skipped). Whether a run may
continue a file at all (same evaluation, one writer) is output_guard.py's decision."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Set, Tuple
from socialfusion_plugin.errors import UserInputError


class PredictionFileError(UserInputError):
    """A predictions file that cannot be resumed; the message names the file and line."""


def read_done_ids(path: Path) -> Tuple[Set[str], bool]:
    """(ids already predicted, whether a truncated last line was dropped).

    Only the LAST line may be cut short (a run killed mid-write); it is removed from the file and
    predicted again. A broken line anywhere else is an error: the file is not ours to repair."""
    path = Path(path)
    done, keep_bytes = scan_predictions(path)
    if keep_bytes is not None:
        with open(path, "r+b") as handle:
            handle.truncate(keep_bytes)
    return done, keep_bytes is not None


def scan_predictions(path: Path, strict: bool = True) -> Tuple[Set[str], Optional[int]]:
    """(ids of the complete prediction lines, the length to cut a truncated last line back to or
    None); reads only. strict=False skips broken lines instead of raising."""
    path = Path(path)
    if not path.is_file():
        return set(), None
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    done: Set[str] = set()
    offset = 0
    for number, line in enumerate(lines, 1):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or "id" not in row:
                raise UserInputError("no 'id'")
        except ValueError as err:
            is_last = all(not rest.strip() for rest in lines[number:])
            if is_last and not raw.endswith(b"\n"):
                return done, start
            if not strict:
                continue
            raise PredictionFileError(f"{path}:{number}: not a prediction line ({err}); "
                                      "fix or delete the file to resume") from None
        done.add(str(row["id"]))
    return done, None


def append_predictions(path: Path, rows: Iterable[Dict[str, Any]]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count

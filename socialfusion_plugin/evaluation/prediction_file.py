"""The predictions file of `eval`: JSON lines appended and flushed batch by batch, so an
interrupted run resumes where it stopped (ids already written are skipped). Whether a run may
continue a file at all (same evaluation, one writer) is output_guard.py's decision.

`prediction_lines` is the one reader of predictions files: resuming (here) and scoring
(evaluation/scoring.py) both read through it."""
from __future__ import annotations

import json
import os
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, Optional, Set, Tuple

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


@dataclass(frozen=True)
class PredictionLine:
    """One non-blank line of a predictions file, as both readers (resume, scoring) see it."""

    number: int  # 1-based line number
    start: int  # byte offset where the line starts
    row: Optional[Dict[str, Any]]  # the JSON object; None when the line is not a prediction
    problem: str  # why `row` is None: "not UTF-8 text (...)", "not valid JSON (...)", "a prediction needs an 'id'"
    cut_short: bool  # only blank lines follow and the file does not end with a newline (a killed write)


def prediction_lines(path: Path) -> Iterator[PredictionLine]:
    """The non-blank lines of a predictions file (JSON lines {"id", "text", ["scores"]}), in order."""
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    last = max((number for number, line in enumerate(lines, 1) if line.strip()), default=0)
    offset = 0
    for number, line in enumerate(lines, 1):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        row, problem = _parse_line(line, start)
        yield PredictionLine(number, start, row, problem, number == last and not raw.endswith(b"\n"))


def _parse_line(line: bytes, start: int) -> Tuple[Optional[Dict[str, Any]], str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 text (byte 0x{line[err.start]:02x} at byte offset {start + err.start})"
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err})"
    if not isinstance(row, dict) or "id" not in row:
        return None, "a prediction needs an 'id'"
    return row, ""


def scan_predictions(path: Path, strict: bool = True) -> Tuple[Set[str], Optional[int]]:
    """(ids of the complete prediction lines, the length to cut a truncated last line back to or
    None); reads only. strict=False skips broken lines instead of raising."""
    path = Path(path)
    if not path.is_file():
        return set(), None
    done: Set[str] = set()
    for line in prediction_lines(path):
        if line.row is None:
            if line.cut_short:
                return done, line.start
            if not strict:
                continue
            raise PredictionFileError(f"{path}:{line.number}: not a prediction line ({line.problem}); "
                                      "fix or delete the file to resume")
        done.add(str(line.row["id"]))
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

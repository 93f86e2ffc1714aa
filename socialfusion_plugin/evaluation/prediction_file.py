"""The predictions file of `eval`: JSON lines appended and flushed batch by batch, so an
interrupted run resumes where it stopped (ids already written are skipped); one writer at a time,
and a rerun only continues predictions made the same way.

`prediction_lines` is the one reader of predictions files: resuming (here) and scoring
(evaluation/scoring.py) both read through it.

- `exclusive_output(out)` holds `<out>.lock` for the whole run; a second process asking for the same
  output is refused at once, with a message, instead of appending between the first one's lines. The
  lock file goes when the run ends, and a run that ends before its first prediction (refused, failed,
  interrupted) also removes the info file and empty predictions file it made.
- `claim_output(out, info, overwrite)` decides, before the first prediction, whether the file may be
  continued: it holds no prediction yet, or the provenance recorded beside it (provenance.py) equals
  this run's. Otherwise it refuses, naming every difference, unless `overwrite`: then the file is
  replaced by an empty one in one step (os.replace; never half old, half new) and the run starts
  afresh. The info file, with the new provenance, is written after that decision and before any
  prediction, so a file with predictions always has the record of what made them; an interrupted
  --overwrite run resumes like any other.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Optional, Set, Tuple

from ..atomic_files import atomic_write_json, atomic_write_text, sole_writer
from ..errors import UserInputError
from .provenance import differences, info_path, read_info


class PredictionFileError(UserInputError):
    """A predictions file that cannot be resumed; the message names the file and line."""


def read_done_ids(path: Path) -> Tuple[Set[str], bool]:
    """(ids already predicted, whether a truncated last line was dropped).

    Only the LAST line may be cut short (a run killed mid-write); it is removed from the file and
    predicted again. A broken line anywhere else is an error: the file is not ours to repair."""
    path = Path(path)
    done, keep_bytes = scan_predictions(path)
    if keep_bytes is not None:
        os.truncate(path, keep_bytes)
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


class EvalOutputError(UserInputError):
    """An output the run may not write: busy, or holding predictions made another way."""


@contextlib.contextmanager
def exclusive_output(out: Path) -> Iterator[None]:
    """Hold `<out>.lock` (atomic_files.sole_writer) for the block; a block that ends before its first
    prediction takes back the info file and empty predictions file it made (module docstring)."""
    out = Path(out)

    def busy(lock: Path) -> Exception:
        return EvalOutputError(f"{out}: another process is writing these predictions (it holds {lock}); "
                               "wait for it to finish, or write to another --out")

    with sole_writer(out, busy):
        info_file = info_path(out)
        had_out, had_info = out.exists(), info_file.exists()
        try:
            yield
        except BaseException:
            _remove_unused(out, info_file, had_out, had_info)
            raise


def _remove_unused(out: Path, info_file: Path, had_out: bool, had_info: bool) -> None:
    """Remove the info file and the empty predictions file this run made, if it predicted nothing."""
    try:
        if scan_predictions(out, strict=False)[0]:
            return  # predictions were made: the info file belongs with them, and a rerun resumes
    except OSError:  # unreadable now: leave everything as it is
        return
    if not had_info:
        info_file.unlink(missing_ok=True)
    if not had_out and out.is_file() and out.stat().st_size == 0:
        out.unlink()


def claim_output(out: Path, info: Dict[str, Any], overwrite: bool = False) -> str:
    """Check (or, with `overwrite`, empty) `out` and record `info` beside it; returns a note for the
    user, '' when there is nothing to say. `info["provenance"]` is what must match."""
    out = Path(out)
    info_file = info_path(out)
    note = ""
    if overwrite:
        if out.exists():
            done, _ = scan_predictions(out, strict=False)
            atomic_write_text(out, "")
            note = f"--overwrite: {len(done)} earlier predictions in {out} discarded; predicting afresh"
    else:
        done, _ = scan_predictions(out)
        if done:
            _check_same_evaluation(out, info_file, len(done), info["provenance"])
    atomic_write_json(info_file, info)
    return note


def _check_same_evaluation(out: Path, info_file: Path, count: int, provenance: Dict[str, Any]) -> None:
    advice = ("Resume with the recorded settings, write to another --out, or pass --overwrite to discard those "
              "predictions and predict afresh.")
    recorded = (read_info(info_file) or {}).get("provenance")
    if recorded is None:
        why = ("is missing" if not info_file.is_file()
               else "does not record what produced them (an older version wrote it)")
        raise EvalOutputError(f"{out} holds {count} predictions, but {info_file} {why}, so this run cannot tell "
                              f"whether they were made the same way. {advice}")
    changed = differences(recorded, provenance)
    if changed:
        raise EvalOutputError(f"{out} holds {count} predictions made by a different evaluation ({info_file}); "
                              "this run differs in:\n  " + "\n  ".join(changed) + f"\n{advice}")

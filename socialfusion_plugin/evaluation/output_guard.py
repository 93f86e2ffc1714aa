"""`eval --out`: one writer at a time, and a rerun only continues predictions made the same way.

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
from pathlib import Path
from typing import Any, Dict, Iterator

from ..atomic_files import atomic_write_json, atomic_write_text, sole_writer
from .prediction_file import scan_predictions
from .provenance import differences, info_path, read_info
from socialfusion_plugin.errors import UserInputError


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
        with contextlib.suppress(FileNotFoundError):
            info_file.unlink()
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

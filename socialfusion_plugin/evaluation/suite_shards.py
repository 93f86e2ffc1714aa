"""Per-process prediction files of a many-process `eval-suite` run, and their merge.

Each process appends to its own file, RUN/eval/shards/<task>.rank<R>-of-<W>.preds.jsonl (resumable
like any predictions file, with its own <...>.eval.json beside it recording the evaluation's
provenance). When every process is done, the first one appends their lines to
RUN/eval/<task>.preds.jsonl in record order, byte for byte, and deletes the shard files: the merged
file is the file a one-process run writes.

Shard files left by an interrupted run are resumed only when they record the same evaluation;
otherwise the run is refused, naming what differs, unless --overwrite (they are deleted).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Set

from .output_guard import EvalOutputError
from .prediction_file import prediction_lines, scan_predictions
from .provenance import differences, info_path, read_info

SHARDS_DIR = "shards"


def shard_path(eval_dir: Path, task: str, rank: int, world_size: int) -> Path:
    return Path(eval_dir) / SHARDS_DIR / f"{task}.rank{rank}-of-{world_size}.preds.jsonl"


def existing_shards(eval_dir: Path, task: str) -> List[Path]:
    """Every shard file of `task`, whatever the number of processes that wrote it."""
    folder = Path(eval_dir) / SHARDS_DIR
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(task) + r"\.rank\d+-of-\d+\.preds\.jsonl")
    return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))


def check_shards(eval_dir: Path, task: str, provenance: Mapping[str, Any], overwrite: bool) -> List[str]:
    """Refuse (or, with `overwrite`, delete) shard files holding predictions of another evaluation;
    returns notes for the user."""
    notes = []
    for path in existing_shards(eval_dir, task):
        done, _ = scan_predictions(path, strict=False)
        if overwrite:
            remove_shard(path)
            if done:
                notes.append(f"--overwrite: {len(done)} earlier predictions in {path} discarded")
            continue
        if not done:
            continue
        recorded = (read_info(info_path(path)) or {}).get("provenance")
        changed = ["the record of what made them is missing"] if recorded is None else differences(recorded, provenance)
        if changed:
            raise EvalOutputError(f"{path} holds {len(done)} predictions of an interrupted run made by a different "
                                  "evaluation; this run differs in:\n  " + "\n  ".join(changed) +
                                  "\nResume with the recorded settings, write to another --out, or pass --overwrite.")
    return notes


def done_in_shards(eval_dir: Path, task: str) -> Set[str]:
    return set().union(*(scan_predictions(path, strict=False)[0] for path in existing_shards(eval_dir, task)))


def merge_shards(eval_dir: Path, task: str, record_ids: Iterable[str], merged: Path) -> int:
    """Append the shard lines of the records not yet in `merged`, in record order; then delete the
    shard files. Returns the number of lines appended. A record in no file is a bug (every id was
    dealt to some process), reported with its id."""
    already, _ = scan_predictions(merged)
    lines: Dict[str, bytes] = {}
    shards = existing_shards(eval_dir, task)
    for path in shards:
        raw = path.read_bytes()
        for line in prediction_lines(path):
            if line.row is None:
                continue  # a cut-short last line of a killed process: that record is predicted again
            lines.setdefault(str(line.row["id"]), raw[line.start:].split(b"\n", 1)[0])
    chosen = [key for key in record_ids if key not in already]
    missing = [key for key in chosen if key not in lines]
    if missing:
        raise RuntimeError(f"{task}: {len(missing)} records have no prediction in any shard file, e.g. {missing[0]!r}")
    if chosen:
        with open(merged, "ab") as handle:
            handle.write(b"".join(lines[key] + b"\n" for key in chosen))
            handle.flush()
            os.fsync(handle.fileno())
    for path in shards:
        remove_shard(path)
    return len(chosen)


def remove_shard(path: Path) -> None:
    for file in (path, info_path(path), Path(str(path) + ".lock")):
        if file.exists():
            file.unlink()

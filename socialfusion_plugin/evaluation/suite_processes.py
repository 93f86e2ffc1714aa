"""The processes of one `eval-suite` run: one, or several started by `torchrun`, `accelerate launch`
or the `deepspeed` launcher, which all set RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT).

Processes talk through torch.distributed with the gloo backend: only a few integers cross (whether
every process got past a step), so gloo serves CPU and GPU runs alike and needs no NCCL set-up.

Sharding is by whole batches, dealt round-robin in record order: batch k of the records still to
predict goes to process k mod WORLD_SIZE. Every batch therefore holds exactly the records it holds in
a one-process run, so the predictions do not depend on how many processes ran (rank-mode scores are
sums over padded batches, which are only batch-invariant up to rounding; same batches, same bytes).

Each process appends to its own file, RUN/eval/shards/<task>.rank<R>-of-<W>.preds.jsonl (resumable
like any predictions file, with its own <...>.eval.json beside it recording the evaluation's
provenance). When every process is done, the first one appends their lines to
RUN/eval/<task>.preds.jsonl in record order, byte for byte, and deletes the shard files: the merged
file is the file a one-process run writes. Shard files left by an interrupted run are resumed only
when they record the same evaluation; otherwise the run is refused, naming what differs, unless
--overwrite (they are deleted).
"""
from __future__ import annotations

import contextlib
import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, TypeVar

from ..errors import UserInputError
from .prediction_file import EvalOutputError, prediction_lines, scan_predictions
from .provenance import differences, info_path, read_info

T = TypeVar("T")
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT = datetime.timedelta(hours=2)  # a process may wait this long for the others (a slow task)
SHARDS_DIR = "shards"


class ProcessGroupError(UserInputError):
    """A launcher environment that does not describe a process group, or another process failed."""


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def all_ok(self, ok: bool) -> bool:
        """True when every process passes ok=True; every process must call it at the same point.
        A process that failed calls it with False before raising, so the others stop instead of
        waiting for it forever."""
        if not self.distributed:
            return ok
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1 if ok else 0], dtype=torch.int64)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """A step every process enters (some may have nothing to do in it): when one process
        fails inside it, every other stops at its end instead of waiting for the failed one."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self.all_ok(False)
            raise
        if not self.all_ok(True):
            raise ProcessGroupError(f"another process failed while {what} (its output names the problem); "
                                    f"process {self.rank} of {self.world_size} stops too")


def processes_from_env(environ: Optional[Mapping[str, str]] = None) -> Processes:
    environ = os.environ if environ is None else environ
    given = {key: environ.get(key) for key in ENV_KEYS if environ.get(key) not in (None, "")}
    if not given:
        return Processes()
    try:
        rank = int(given.get("RANK", 0))
        world = int(given.get("WORLD_SIZE", 1))
        local = int(given.get("LOCAL_RANK", rank))
    except ValueError:
        raise ProcessGroupError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers, got {given}") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ProcessGroupError(f"RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local} do not describe a process "
                                "group (need 0 <= RANK < WORLD_SIZE)")
    return Processes(rank=rank, world_size=world, local_rank=local)


def start_processes(environ: Optional[Mapping[str, str]] = None) -> Processes:
    """The processes of this run; joins the gloo process group when there are several."""
    processes = processes_from_env(environ)
    if processes.distributed:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo", init_method="env://", rank=processes.rank,
                                    world_size=processes.world_size, timeout=TIMEOUT)
    return processes


def stop_processes(processes: Processes) -> None:
    if processes.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def default_device(processes: Processes) -> str:
    """CUDA when available (this process's local GPU), else the CPU."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{processes.local_rank % torch.cuda.device_count()}" if processes.distributed else "cuda"
    return "cpu"


def shard_batches(records: Sequence[T], batch_size: int, rank: int, world_size: int) -> List[T]:
    """The records of process `rank`: batches rank, rank + world_size, ... of `records`, in order."""
    if batch_size < 1:
        raise UserInputError(f"batch size must be >= 1, got {batch_size}")
    mine: List[T] = []
    for index, start in enumerate(range(0, len(records), batch_size)):
        if index % world_size == rank:
            mine.extend(records[start:start + batch_size])
    return mine


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
        file.unlink(missing_ok=True)

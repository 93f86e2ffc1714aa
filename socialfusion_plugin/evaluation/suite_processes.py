"""The processes of one `eval-suite` run: one, or several started by `torchrun`, `accelerate launch`
or the `deepspeed` launcher, which all set RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT).

Processes talk through torch.distributed with the gloo backend: only a few integers cross (whether
every process got past a step), so gloo serves CPU and GPU runs alike and needs no NCCL set-up.

Sharding is by whole batches, dealt round-robin in record order: batch k of the records still to
predict goes to process k mod WORLD_SIZE. Every batch therefore holds exactly the records it holds in
a one-process run, so the predictions do not depend on how many processes ran (rank-mode scores are
sums over padded batches, which are only batch-invariant up to rounding; same batches, same bytes).
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from typing import Iterator, List, Mapping, Optional, Sequence, TypeVar

from ..errors import UserInputError

T = TypeVar("T")
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT = datetime.timedelta(hours=2)  # a process may wait this long for the others (a slow task)


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

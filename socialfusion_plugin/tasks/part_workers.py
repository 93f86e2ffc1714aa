"""Worker processes for `convert --workers N`, and the rule that they never outlive the conversion.

Each worker is a plain process with a task pipe and a result pipe of its own; the parent is the only
reader of every result pipe and runs no helper threads. multiprocessing.Pool is not used: its
terminate() goes through shared queue locks and helper threads, and an interrupt that lands while a
worker is mid-way through sending a part's result can leave it waiting forever for the rest. Here:
- while a conversion runs in the main thread, SIGTERM (when it still has its default action) unwinds
  the conversion as SystemExit(143), so `finally` blocks run: the temporary output is removed and
- on any error, interrupt or early close the workers are terminated (SIGTERM, then SIGKILL after
  a few seconds) and joined, without reading or waiting on anything they may be half-way through;
- workers ignore SIGINT (Ctrl-C in a terminal reaches the whole process group; the parent alone
  decides) and have SIGTERM's default action back, so terminating them is immediate;
- a worker that dies (killed, out of memory) is an error naming it, not a wait;
- on Linux each worker asks the kernel to SIGKILL it when its parent dies (prctl PR_SET_PDEATHSIG),
  so a parent killed with SIGKILL, which runs no `finally` and no exit hook, still leaves no worker.
"""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from multiprocessing.connection import wait
from typing import Any, Callable, Dict, Iterator, List, Sequence

SIGTERM_EXIT = 128 + signal.SIGTERM
STOP_GRACE_SECONDS = 5.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
ORPHAN_EXIT = 128 + signal.SIGKILL  # a worker whose parent was already gone when it started


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) in the main thread for the duration of the block, so cleanup
    runs; a handler the program installed itself is left alone."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def _exit(signum, frame):
        raise SystemExit(SIGTERM_EXIT)

    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class WorkerFailed(RuntimeError):
    """A part's worker raised an exception that could not be sent back as it was, or died."""


def die_with_parent(parent: int) -> bool:
    """Have the kernel SIGKILL this process when its parent dies, however the parent dies; False where
    the platform has no such request (not Linux). The parent may have died between the fork and this
    call, before the request existed: then this process is already an orphan and exits at once.

    The kernel sends the signal when the parent THREAD that started this process ends, so workers
    must be started by a thread that outlives them (ordered_results joins its workers before it
    returns, in the thread that iterates it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # no C library to ask (an unusual build): daemon=True still helps
        return False
    if os.getppid() != parent:
        os._exit(ORPHAN_EXIT)
    return True


def _serve(function: Callable[..., List[Any]], settings: Any, tasks, results, parent: int) -> None:
    """A worker's loop: (index, part) in, (index, True, items) or (index, False, error) out."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(EOFError):  # the parent closed its end
        while (task := tasks.recv()) is not None:
            index, part = task
            try:
                results.send((index, True, function(settings, part)))
            except Exception as error:  # sent back, so the parent raises it with the part named
                try:
                    results.send((index, False, error))
                except Exception:  # an exception that cannot be pickled travels as its text
                    results.send((index, False, WorkerFailed(traceback.format_exc())))


class _Worker:
    def __init__(self, context, function, settings):
        tasks_out, self.tasks = context.Pipe(duplex=False)
        self.results, results_in = context.Pipe(duplex=False)
        # daemon: should the parent exit without its `finally`, multiprocessing's exit hook still ends
        # it; a parent killed outright is covered by die_with_parent
        self.process = context.Process(target=_serve, args=(function, settings, tasks_out, results_in, os.getpid()),
                                       daemon=True, name="socialfusion-part-worker")
        self.process.start()
        tasks_out.close()  # the parent keeps only its own ends, so a dead worker reads as EOF
        results_in.close()
        self.index = None  # the part it is working on

    def stop(self, finished: bool) -> None:
        if finished:
            with contextlib.suppress(OSError):
                self.tasks.send(None)
        elif self.process.exitcode is None:
            self.process.terminate()

    def join(self) -> None:
        self.process.join(STOP_GRACE_SECONDS)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.tasks.close()
        self.results.close()


def ordered_results(function: Callable[..., List[Any]], settings: Any, parts: Sequence[Any],
                    workers: int) -> Iterator[Any]:
    """The items of function(settings, part) for every part, in part order. At most 2 x workers
    parts are sent out or waiting to be yielded, so memory is bounded by a few parts, not the split."""
    # fork: workers inherit the registry (tasks registered at run time too) without re-importing
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pool: List[_Worker] = []
    finished = False
    try:
        for _ in range(max(1, min(workers, len(parts)))):
            pool.append(_Worker(context, function, settings))
        done: Dict[int, List[Any]] = {}
        next_part = next_yield = 0
        while next_yield < len(parts):
            for worker in pool:
                if worker.index is None and next_part < len(parts) and next_part - next_yield < 2 * workers:
                    worker.tasks.send((next_part, parts[next_part]))
                    worker.index, next_part = next_part, next_part + 1
            if next_yield in done:
                yield from done.pop(next_yield)
                next_yield += 1
                continue
            busy = {worker.results: worker for worker in pool if worker.index is not None}
            for ready in wait(list(busy)):
                worker = busy[ready]
                try:
                    index, ok, payload = ready.recv()
                except EOFError:
                    worker.process.join(1)
                    raise WorkerFailed(f"the worker converting part {worker.index} ({parts[worker.index]!r}) "
                                       f"died (exit code {worker.process.exitcode})") from None
                worker.index = None
                if not ok:
                    raise payload
                done[index] = payload
        finished = True
    finally:
        for worker in pool:
            worker.stop(finished)
        for worker in pool:
            worker.join()
